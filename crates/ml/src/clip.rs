//! [`Clip`]: CLIP's image and text towers (candle-transformers) with the checkpoint's own
//! preprocessing and tokenizer.
//!
//! Paper: <https://arxiv.org/abs/2103.00020>. Checkpoints: the Hugging Face `CLIPModel` layout,
//! e.g. <https://huggingface.co/openai/clip-vit-base-patch32>.

mod config;

use std::path::Path;

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_transformers::models::clip::ClipModel;
use shoebox_core::{self as core, Embedding, ImageEmbedder, Pixels, TextEmbedder};

use self::config::HfClipConfig;
use crate::checkpoint::Checkpoint;
use crate::preprocess::Preprocessor;
use crate::tokenize::TextTokenizer;
use crate::{Error, Result};

/// A loaded CLIP model. The text tower stays loaded, so a query costs one forward pass over
/// its own tokens (no padding to the context length).
#[derive(Debug)]
pub struct Clip {
    model: ClipModel,
    preprocess: Preprocessor,
    tokenizer: TextTokenizer,
    model_id: String,
    eos_token_id: u32,
    logit_scale: f32,
    device: Device,
}

/// Tensors candle would silently make up (randomly, or from the config) when absent.
const REQUIRED: &[&str] = &["vision_model.embeddings.class_embedding", "logit_scale"];

impl Clip {
    /// Loads the checkpoint in `dir` under the id `model_id`.
    pub fn load(dir: &Path, model_id: impl Into<String>, device: &Device) -> Result<Self> {
        let checkpoint = Checkpoint::new(dir);
        let parsed = checkpoint.json::<HfClipConfig>("config.json")?.parse()?;
        let preprocess = Preprocessor::load(&checkpoint)?;
        let tokenizer = TextTokenizer::load(&checkpoint, parsed.context_length)?;
        let (vb, weights) = checkpoint.weights(DType::F32, device)?;
        let mismatch = |reason: String| Error::WeightsMismatch {
            path: weights.clone(),
            reason,
        };
        if let Some(missing) = REQUIRED.iter().find(|name| !vb.contains_tensor(name)) {
            return Err(mismatch(format!("tensor {missing} is missing")));
        }
        let logit_scale = vb
            .get((), "logit_scale")
            .and_then(|t| t.to_scalar::<f32>())
            .map_err(|e| mismatch(e.to_string()))?
            .exp();
        let model = ClipModel::new(vb, &parsed.candle).map_err(|e| mismatch(e.to_string()))?;
        Ok(Self {
            model,
            preprocess,
            tokenizer,
            model_id: model_id.into(),
            eos_token_id: parsed.eos_token_id,
            logit_scale,
            device: device.clone(),
        })
    }

    /// The id vectors are tagged with.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The factor on cosine similarities before a softmax (exp of the stored `logit_scale`;
    /// 100 for trained CLIP models).
    pub fn logit_scale(&self) -> f32 {
        self.logit_scale
    }

    /// The preprocessed input for one image, `[3, H, W]`.
    pub fn pixel_tensor(&self, image: &Pixels) -> Result<Tensor> {
        self.preprocess.tensor(image, &self.device)
    }

    /// Embeddings of a preprocessed batch `[B, 3, H, W]`.
    pub fn embed_pixels(&self, pixels: &Tensor) -> Result<Vec<Embedding>> {
        let features = self.model.get_image_features(pixels)?;
        self.normalised(&features)
    }

    /// The token ids the text tower sees for `text`.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.ids(text)
    }

    /// The embedding of one text, computed over its own tokens.
    pub fn embed_text(&self, text: &str) -> Result<Embedding> {
        let ids = self.token_ids(text)?;
        // The reference pools at the first end-of-text token; candle's text tower pools at
        // the largest id, which is the same token when it is the vocabulary's last.
        let eos = ids.iter().position(|&id| id == self.eos_token_id);
        let max = ids
            .iter()
            .enumerate()
            .max_by_key(|&(i, id)| (*id, std::cmp::Reverse(i)))
            .map(|(i, _)| i);
        if eos.is_none() || eos != max {
            return Err(Error::Unsupported(format!(
                "the end-of-text token {} must be the largest id in the sequence",
                self.eos_token_id
            )));
        }
        let input = Tensor::new(ids.as_slice(), &self.device)?.unsqueeze(0)?;
        let features = self.model.get_text_features(&input)?;
        self.normalised(&features)?
            .pop()
            .ok_or_else(|| Error::Tokenize("no output".to_owned()))
    }

    fn normalised(&self, features: &Tensor) -> Result<Vec<Embedding>> {
        let norm = features.sqr()?.sum_keepdim(1)?.sqrt()?;
        let unit = features.broadcast_div(&norm)?;
        (0..unit.dim(0)?)
            .map(|i| {
                Ok(Embedding {
                    model_id: self.model_id.clone(),
                    vector: unit.i(i)?.to_vec1::<f32>()?,
                })
            })
            .collect()
    }
}

impl ImageEmbedder for Clip {
    fn model_id(&self) -> &str {
        Clip::model_id(self)
    }

    fn embed_images(&self, images: &[Pixels]) -> core::Result<Vec<Embedding>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let tensors = images
            .iter()
            .map(|image| self.pixel_tensor(image))
            .collect::<Result<Vec<_>>>()?;
        let batch = Tensor::stack(&tensors, 0).map_err(Error::from)?;
        Ok(self.embed_pixels(&batch)?)
    }
}

impl TextEmbedder for Clip {
    fn model_id(&self) -> &str {
        Clip::model_id(self)
    }

    fn embed_texts(&self, texts: &[&str]) -> core::Result<Vec<Embedding>> {
        Ok(texts
            .iter()
            .map(|t| self.embed_text(t))
            .collect::<Result<Vec<_>>>()?)
    }
}
