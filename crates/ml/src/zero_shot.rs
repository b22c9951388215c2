//! Zero-shot classification with prompt ensembles, as in the CLIP paper: each label becomes a
//! prompt per template ("a photo of a {}."), the prompts' unit embeddings are averaged and
//! re-normalised into one class embedding (computed once, then reused for every image), and
//! the image's cosine similarities, times the model's logit scale, go through a softmax.

use serde::Serialize;
use shoebox_core::Embedding;

use crate::{Clip, Error, Result};

/// CLIP's 80 prompt templates for ImageNet (from the CLIP repository), one per line.
const IMAGENET_TEMPLATES: &str = include_str!("../../../config/templates/imagenet.txt");

/// The built-in templates.
pub fn imagenet_templates() -> Vec<&'static str> {
    IMAGENET_TEMPLATES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// One label's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prediction {
    /// The label.
    pub label: String,
    /// Softmax probability over the labels.
    pub probability: f32,
    /// 1 for the most likely label.
    pub rank: usize,
}

/// A label set, embedded once.
#[derive(Debug, Clone)]
pub struct ZeroShot {
    labels: Vec<String>,
    classes: Vec<Embedding>,
    logit_scale: f32,
}

impl ZeroShot {
    /// Embeds `labels` with `templates` (each containing `{}`, where the label goes).
    pub fn new(clip: &Clip, labels: &[String], templates: &[&str]) -> Result<Self> {
        if labels.is_empty() || templates.is_empty() {
            return Err(Error::Unsupported(
                "zero-shot needs at least one label and one template".to_owned(),
            ));
        }
        if let Some(bad) = templates.iter().find(|t| !t.contains("{}")) {
            return Err(Error::Unsupported(format!(
                "template {bad:?} has no {{}} for the label"
            )));
        }
        let classes = labels
            .iter()
            .map(|label| {
                let mut sum = Vec::new();
                for template in templates {
                    let e = clip.embed_text(&template.replace("{}", label))?;
                    sum.resize(e.dim(), 0f32);
                    sum.iter_mut().zip(&e.vector).for_each(|(s, v)| *s += v);
                }
                let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
                Ok(Embedding {
                    model_id: clip.model_id().to_owned(),
                    vector: sum.iter().map(|v| v / norm).collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            labels: labels.to_vec(),
            classes,
            logit_scale: clip.logit_scale(),
        })
    }

    /// The labels ranked for one image embedding, most likely first.
    pub fn classify(&self, image: &Embedding) -> Result<Vec<Prediction>> {
        if self
            .classes
            .first()
            .is_some_and(|c| c.model_id != image.model_id)
        {
            return Err(Error::Unsupported(format!(
                "image embedded by {}, labels by {}",
                image.model_id, self.classes[0].model_id
            )));
        }
        let logits: Vec<f32> = self
            .classes
            .iter()
            .map(|c| self.logit_scale * c.cosine(image))
            .collect();
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f32 = exp.iter().sum();
        let mut predictions: Vec<Prediction> = self
            .labels
            .iter()
            .zip(exp)
            .map(|(label, e)| Prediction {
                label: label.clone(),
                probability: e / total,
                rank: 0,
            })
            .collect();
        predictions.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        for (i, p) in predictions.iter_mut().enumerate() {
            p.rank = i + 1;
        }
        Ok(predictions)
    }
}
