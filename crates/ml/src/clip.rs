//! [`Clip`]: a CLIP-family model — OpenAI CLIP or Google SigLIP, chosen by `config.json`'s
//! `model_type`, or Apple's MobileCLIP (a checkpoint with `open_clip_config.json` instead; see
//! [`crate::mobileclip`]) — with the checkpoint's own preprocessing and tokenizer.
//!
//! Paper: <https://arxiv.org/abs/2103.00020>. Checkpoints: the Hugging Face `CLIPModel` layout,
//! e.g. <https://huggingface.co/openai/clip-vit-base-patch32>, and `SiglipModel` (see
//! [`crate::siglip`]). The towers are our own (`vision.rs`, `text.rs`, on [`crate::nn`]) rather
//! than candle-transformers' `clip`: the same computation with fused projections and packed
//! CPU matrix products, about twice as fast on a CPU (`cargo bench -p shoebox-ml --bench clip`).

mod config;
mod text;
mod towers;
mod vision;

use std::path::Path;

use candle_core::{DType, Device, IndexOp, Tensor};
use rayon::prelude::*;
use serde::Deserialize;
use shoebox_core::{self as core, Embedding, ImageEmbedder, Pixels, TextEmbedder};

use self::config::HfClipConfig;
pub(crate) use self::config::{HfText, encoder_config};
pub(crate) use self::text::TextModel;
use self::text::TextTower;
use self::towers::Towers;
use self::vision::VisionTower;
use crate::checkpoint::Checkpoint;
use crate::kernels::sgemm::Precision;
use crate::mobileclip;
use crate::preprocess::Preprocessor;
use crate::siglip::{self, HfSiglipConfig};
use crate::tokenize::TextTokenizer;
use crate::{Error, Result};

/// A loaded CLIP-family model. The text tower stays loaded, so a query costs one forward pass
/// (over its own tokens for CLIP; SigLIP always reads its full 64-token context).
#[derive(Debug)]
pub struct Clip {
    towers: Towers,
    preprocess: Preprocessor,
    tokenizer: TextTokenizer,
    model_id: String,
    dim: usize,
    logit_scale: f32,
    logit_bias: f32,
    device: Device,
}

/// Texts per forward pass of the text tower.
const TEXT_BATCH: usize = 32;

/// Images per forward pass of the image tower: larger batches gain nothing in the matrix
/// products, and their activations (≈ 20 MB per MLP layer at 32 ViT-B/32 images) leave the
/// caches — batch 32 ran at 44 images/s against 52 at batch 8 (bf16, `benches/clip.rs`).
const IMAGE_CHUNK: usize = 8;

/// Which family a `config.json` describes.
#[derive(Deserialize)]
struct ModelType {
    #[serde(default)]
    model_type: Option<String>,
}

impl Clip {
    /// Loads the checkpoint in `dir` under the id `model_id`, its matrix products in
    /// `precision` where this device and CPU allow it (see [`Self::set_precision`]) — made so
    /// from the start, never held in f32 beside.
    pub fn load_in(
        dir: &Path,
        model_id: impl Into<String>,
        device: &Device,
        precision: Precision,
    ) -> Result<Self> {
        // MobileCLIP runs in f32 (its convolutions are candle's).
        let precision = if is_mobileclip(dir) {
            Precision::F32
        } else {
            precision.effective(device)
        };
        crate::nn::loading_in(precision, || Self::load(dir, model_id, device))
    }

    /// Loads the checkpoint in `dir` under the id `model_id`, in f32.
    pub fn load(dir: &Path, model_id: impl Into<String>, device: &Device) -> Result<Self> {
        let checkpoint = Checkpoint::new(dir);
        if is_mobileclip(dir) {
            let m = mobileclip::load(&checkpoint, device)?;
            return Ok(Self {
                tokenizer: TextTokenizer::load(&checkpoint, m.context)?,
                towers: Towers::MobileClip {
                    model: Box::new(m.model),
                    context: m.context,
                },
                preprocess: m.preprocess,
                model_id: model_id.into(),
                dim: m.dim,
                logit_scale: m.logit_scale,
                logit_bias: 0.0,
                device: device.clone(),
            });
        }
        let family = checkpoint.json::<ModelType>("config.json")?.model_type;
        let preprocess = Preprocessor::load(&checkpoint)?;
        let (vb, weights) = checkpoint.weights(DType::F32, device)?;
        let mismatch = |e: candle_core::Error| Error::WeightsMismatch {
            path: weights.clone(),
            reason: e.to_string(),
        };
        // A scalar for CLIP, `[1]` for SigLIP.
        let scalar = |name: &str| -> Result<f32> {
            let t = vb.get_unchecked(name).map_err(mismatch)?;
            match t
                .flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(mismatch)?[..]
            {
                [v] => Ok(v),
                _ => Err(Error::WeightsMismatch {
                    path: weights.clone(),
                    reason: format!("{name} is not a single number"),
                }),
            }
        };
        let (towers, tokenizer, logit_bias, dim) = match family.as_deref() {
            None | Some("clip") => {
                let parsed = checkpoint.json::<HfClipConfig>("config.json")?.parse()?;
                let tokenizer = TextTokenizer::load(&checkpoint, parsed.text.context_length)?;
                let towers = Towers::Clip {
                    vision: Box::new(
                        VisionTower::load(&vb, &parsed.vision, parsed.projection_dim)
                            .map_err(mismatch)?,
                    ),
                    text: Box::new(
                        TextTower::load(&vb, &parsed.text, parsed.projection_dim)
                            .map_err(mismatch)?,
                    ),
                    eos: parsed.text.eos_token_id,
                };
                (towers, tokenizer, 0.0, parsed.projection_dim)
            }
            Some("siglip") => {
                let (text, vision) = checkpoint.json::<HfSiglipConfig>("config.json")?.parse()?;
                let tokenizer = TextTokenizer::load(&checkpoint, text.context_length)?;
                let towers = Towers::Siglip {
                    vision: Box::new(siglip::VisionTower::load(&vb, &vision).map_err(mismatch)?),
                    text: Box::new(siglip::TextTower::load(&vb, &text).map_err(mismatch)?),
                    context: text.context_length,
                    pad: text.pad_token_id,
                };
                let dim = text.encoder.hidden;
                (towers, tokenizer, scalar("logit_bias")?, dim)
            }
            Some(other) => {
                return Err(Error::Unsupported(format!(
                    "model_type {other:?} (expected \"clip\" or \"siglip\")"
                )));
            }
        };
        Ok(Self {
            towers,
            preprocess,
            tokenizer,
            model_id: model_id.into(),
            dim,
            logit_scale: scalar("logit_scale")?.exp(),
            logit_bias,
            device: device.clone(),
        })
    }

    /// Has the towers' matrix products run in `precision` where this device and CPU have the
    /// instructions for it (bf16: a CPU with AVX-512 BF16), f32 otherwise; returns the
    /// precision now in effect.
    pub fn set_precision(&mut self, precision: Precision) -> Result<Precision> {
        self.towers.set_precision(precision.effective(&self.device))
    }

    /// The id vectors are tagged with.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The embeddings' dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The factor on cosine similarities before a softmax (exp of the stored `logit_scale`;
    /// 100 for trained CLIP models).
    pub fn logit_scale(&self) -> f32 {
        self.logit_scale
    }

    /// SigLIP's bias on scaled similarities (`sigmoid(scale · cos + bias)` is the probability
    /// that an image and a text match); 0 for CLIP.
    pub fn logit_bias(&self) -> f32 {
        self.logit_bias
    }

    /// The preprocessed input for one image, `[3, H, W]`.
    pub fn pixel_tensor(&self, image: &Pixels) -> Result<Tensor> {
        self.preprocess.tensor(image, &self.device)
    }

    /// Embeddings of a preprocessed batch `[B, 3, H, W]`, [`IMAGE_CHUNK`] images per forward
    /// pass.
    pub fn embed_pixels(&self, pixels: &Tensor) -> Result<Vec<Embedding>> {
        let total = pixels.dim(0)?;
        let mut out = Vec::with_capacity(total);
        for start in (0..total).step_by(IMAGE_CHUNK) {
            let chunk = pixels.narrow(0, start, IMAGE_CHUNK.min(total - start))?;
            out.extend(self.normalised(&self.towers.image(&chunk)?)?);
        }
        Ok(out)
    }

    /// The token ids the text tower sees for `text`.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        self.towers.token_ids(&self.tokenizer, text)
    }

    /// The embedding of one text.
    pub fn embed_text(&self, text: &str) -> Result<Embedding> {
        self.embed_batch(&[text])?
            .pop()
            .ok_or_else(|| Error::Tokenize("no output".to_owned()))
    }

    /// Embeddings of several texts, in batches.
    pub fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(TEXT_BATCH) {
            out.extend(self.embed_batch(batch)?);
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        self.normalised(&self.towers.text(&self.tokenizer, texts, &self.device)?)
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
        // Resampling a photo to the model's size is single-threaded: one photo per thread.
        let tensors = images
            .par_iter()
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
        Ok(Clip::embed_texts(self, texts)?)
    }
}

/// Whether `dir` holds an open_clip MobileCLIP checkpoint rather than a Hugging Face one.
fn is_mobileclip(dir: &Path) -> bool {
    !dir.join("config.json").is_file() && dir.join(mobileclip::CONFIG).is_file()
}
