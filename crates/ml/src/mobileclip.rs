//! MobileCLIP (Vasu et al. 2024, <https://arxiv.org/abs/2311.17049>), the fast CLIP for
//! low-end CPUs, in the layout of the `apple/MobileCLIP-S1-OpenCLIP` and `-S2-OpenCLIP`
//! repositories: `open_clip_config.json`, `open_clip_model.safetensors` and the CLIP
//! `tokenizer.json`. Loaded through [`crate::Clip`] when a checkpoint has that config.
//!
//! The image tower is FastViT MCi ([`fastvit`]: reparameterised at load); the text tower is
//! OpenCLIP's text transformer ([`text`]), which attends without a causal or padding mask, so
//! every text is padded to the full context with 0 as open_clip does, and pools at the
//! end-of-text token (the largest id). The FastViT widths and depths are read
//! from the weights' shapes, so any MCi size loads.

mod fastvit;
mod text;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use self::fastvit::FastVit;
use self::text::{TextConfig, TextTower};
use serde::Deserialize;

use crate::checkpoint::{Checkpoint, LazyTensors};
use crate::preprocess::Preprocessor;
use crate::{Error, Result};

/// The file that marks a MobileCLIP checkpoint.
pub(crate) const CONFIG: &str = "open_clip_config.json";
const WEIGHTS: &str = "open_clip_model.safetensors";
const TRUNK: &str = "visual.trunk";

#[derive(Debug, Deserialize)]
struct OpenClipConfig {
    model_cfg: ModelCfg,
    preprocess_cfg: PreprocessCfg,
}

#[derive(Debug, Deserialize)]
struct ModelCfg {
    embed_dim: usize,
    vision_cfg: VisionCfg,
    text_cfg: TextCfg,
}

#[derive(Debug, Deserialize)]
struct VisionCfg {
    timm_model_name: String,
    image_size: u32,
}

#[derive(Debug, Deserialize)]
struct TextCfg {
    context_length: usize,
    vocab_size: usize,
    width: usize,
    heads: usize,
    layers: usize,
    #[serde(default = "four")]
    mlp_ratio: f64,
    #[serde(default)]
    no_causal_mask: bool,
}

fn four() -> f64 {
    4.0
}

/// open_clip's `preprocess_cfg`.
#[derive(Debug, Deserialize)]
struct PreprocessCfg {
    mean: [f32; 3],
    std: [f32; 3],
    interpolation: String,
    resize_mode: String,
}

/// MobileCLIP's two towers.
#[derive(Debug, Clone)]
pub(crate) struct MobileClip {
    vision: FastVit,
    text: TextTower,
}

impl MobileClip {
    /// `pixels`: `[B, 3, H, W]` → unnormalised features `[B, embed]`.
    pub(crate) fn image(&self, pixels: &Tensor) -> candle_core::Result<Tensor> {
        self.vision.forward(pixels)
    }

    /// `ids`: `[B, context]`, padded with 0 → unnormalised features `[B, embed]`.
    pub(crate) fn text(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        self.text.forward(ids)
    }
}

/// A loaded MobileCLIP and what [`crate::Clip`] needs around it.
pub(crate) struct Loaded {
    pub(crate) model: MobileClip,
    pub(crate) preprocess: Preprocessor,
    /// Every text is padded to this many tokens.
    pub(crate) context: usize,
    pub(crate) logit_scale: f32,
    pub(crate) dim: usize,
}

/// Loads the MobileCLIP checkpoint in `checkpoint`.
pub(crate) fn load(checkpoint: &Checkpoint, device: &Device) -> Result<Loaded> {
    let config_path = checkpoint.file(CONFIG)?;
    let c: OpenClipConfig = checkpoint.json(CONFIG)?;
    let unsupported =
        |what: String| Error::Unsupported(format!("{}: {what}", config_path.display()));
    if !c
        .model_cfg
        .vision_cfg
        .timm_model_name
        .starts_with("fastvit_mci")
    {
        return Err(unsupported(format!(
            "image tower {:?} (FastViT MCi, as in MobileCLIP-S1 / S2, is supported)",
            c.model_cfg.vision_cfg.timm_model_name
        )));
    }
    if !c.model_cfg.text_cfg.no_causal_mask {
        return Err(unsupported(
            "a causal text tower (MobileCLIP's has none)".to_owned(),
        ));
    }
    let preprocess =
        preprocessor(&c.preprocess_cfg, c.model_cfg.vision_cfg.image_size).map_err(unsupported)?;

    let (tensors, weights) = checkpoint.lazy(WEIGHTS)?;
    let mismatch = |reason: String| Error::WeightsMismatch {
        path: weights.clone(),
        reason,
    };
    let vision = fastvit_config(&tensors, c.model_cfg.embed_dim).map_err(mismatch)?;
    let logit_scale = tensors
        .read("logit_scale")
        .and_then(|t| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>())
        .map_err(|e| mismatch(e.to_string()))?;
    let [logit_scale] = logit_scale[..] else {
        return Err(mismatch("logit_scale is not a single number".to_owned()));
    };
    let t = &c.model_cfg.text_cfg;
    let text = TextConfig {
        vocab: t.vocab_size,
        context: t.context_length,
        width: t.width,
        heads: t.heads,
        layers: t.layers,
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a small positive width"
        )]
        hidden: (t.width as f64 * t.mlp_ratio).round() as usize,
        embed: c.model_cfg.embed_dim,
    };
    let vb = VarBuilder::from_backend(Box::new(tensors), DType::F32, device.clone());
    let model = (|| -> candle_core::Result<MobileClip> {
        Ok(MobileClip {
            vision: FastVit::load(&vb.pp(TRUNK), &vision)?,
            text: TextTower::load(&vb.pp("text"), &text)?,
        })
    })()
    .map_err(|e| mismatch(e.to_string()))?;
    Ok(Loaded {
        model,
        preprocess,
        context: t.context_length,
        logit_scale: logit_scale.exp(),
        dim: c.model_cfg.embed_dim,
    })
}

/// open_clip's evaluation transform: resize the shortest side, centre crop a square, scale to
/// `[0, 1]`, normalise.
fn preprocessor(c: &PreprocessCfg, size: u32) -> std::result::Result<Preprocessor, String> {
    if c.resize_mode != "shortest" {
        return Err(format!(
            "resize_mode {:?} (\"shortest\" is supported)",
            c.resize_mode
        ));
    }
    let filter = match c.interpolation.as_str() {
        "bilinear" => crate::resample::Filter::Bilinear,
        "bicubic" => crate::resample::Filter::Bicubic,
        other => return Err(format!("interpolation {other:?} (bilinear or bicubic)")),
    };
    Preprocessor::shortest_then_crop(size, filter, c.mean, c.std)
}

/// FastViT's widths and depths, read from the shapes of the trunk's weights.
fn fastvit_config(
    tensors: &LazyTensors,
    embed: usize,
) -> std::result::Result<fastvit::Config, String> {
    let shape = |name: &str| {
        tensors
            .shape(&format!("{TRUNK}.{name}"))
            .map(<[usize]>::to_vec)
            .ok_or_else(|| format!("no {TRUNK}.{name}"))
    };
    let in_channels = shape("stem.0.conv_kxk.0.conv.weight")?[0];
    let expanded = shape("stages.0.blocks.0.mlp.fc1.weight")?[0];
    let mut blocks = [0usize; 4];
    for (stage, count) in blocks.iter_mut().enumerate() {
        let prefix = format!("{TRUNK}.stages.{stage}.blocks.");
        *count = tensors
            .names()
            .filter_map(|k| {
                k.strip_prefix(&prefix)?
                    .split('.')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .map_or(0, |last| last + 1);
        if *count == 0 {
            return Err(format!("stage {stage} has no blocks"));
        }
    }
    if in_channels == 0 || expanded % in_channels != 0 {
        return Err(format!(
            "mlp width {expanded} is not a multiple of {in_channels}"
        ));
    }
    Ok(fastvit::Config {
        width: in_channels,
        blocks,
        mlp_ratio: expanded / in_channels,
        embed,
    })
}
