//! CLIP's `config.json` (the Hugging Face `CLIPConfig`) read into candle's configuration.
//! candle-transformers only has ViT-B/32 presets, so every variant is read from the file;
//! missing keys take the reference implementation's defaults.

use candle_transformers::models::clip::ClipConfig;
use candle_transformers::models::clip::text_model::{Activation, ClipTextConfig};
use candle_transformers::models::clip::vision_model::ClipVisionConfig;
use serde::Deserialize;

use crate::{Error, Result};

#[derive(Debug, Deserialize)]
pub(crate) struct HfClipConfig {
    text_config: HfText,
    vision_config: HfVision,
    #[serde(default = "default_logit_scale")]
    logit_scale_init_value: f32,
}

#[derive(Debug, Deserialize)]
struct HfText {
    #[serde(default = "d49408")]
    vocab_size: usize,
    #[serde(default = "d512")]
    hidden_size: usize,
    #[serde(default = "d2048")]
    intermediate_size: usize,
    #[serde(default = "d12")]
    num_hidden_layers: usize,
    #[serde(default = "d8")]
    num_attention_heads: usize,
    #[serde(default = "d77")]
    max_position_embeddings: usize,
    #[serde(default = "quick_gelu")]
    hidden_act: String,
    #[serde(default = "d512")]
    projection_dim: usize,
    #[serde(default = "eps")]
    layer_norm_eps: f64,
    #[serde(default = "d49407")]
    eos_token_id: u32,
}

#[derive(Debug, Deserialize)]
struct HfVision {
    #[serde(default = "d768")]
    hidden_size: usize,
    #[serde(default = "d3072")]
    intermediate_size: usize,
    #[serde(default = "d12")]
    num_hidden_layers: usize,
    #[serde(default = "d12")]
    num_attention_heads: usize,
    #[serde(default = "d3")]
    num_channels: usize,
    #[serde(default = "d224")]
    image_size: usize,
    #[serde(default = "d32")]
    patch_size: usize,
    #[serde(default = "quick_gelu")]
    hidden_act: String,
    #[serde(default = "d512")]
    projection_dim: usize,
    #[serde(default = "eps")]
    layer_norm_eps: f64,
}

macro_rules! defaults {
    ($($name:ident = $value:expr;)*) => { $(fn $name() -> usize { $value })* };
}
defaults! {
    d3 = 3; d8 = 8; d12 = 12; d32 = 32; d77 = 77; d224 = 224; d512 = 512; d768 = 768;
    d2048 = 2048; d3072 = 3072; d49408 = 49408;
}
fn d49407() -> u32 {
    49407
}
fn eps() -> f64 {
    1e-5
}
fn quick_gelu() -> String {
    "quick_gelu".to_owned()
}
fn default_logit_scale() -> f32 {
    2.6592
}

/// What the Shoebox side needs beyond candle's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub(crate) candle: ClipConfig,
    /// The text context length (77 for CLIP).
    pub(crate) context_length: usize,
    /// The end-of-text token, whose position pools the text tower.
    pub(crate) eos_token_id: u32,
}

impl HfClipConfig {
    pub(crate) fn parse(self) -> Result<Parsed> {
        let (t, v) = (&self.text_config, &self.vision_config);
        for act in [&t.hidden_act, &v.hidden_act] {
            if act != "quick_gelu" {
                return Err(Error::Unsupported(format!(
                    "activation {act:?} (only quick_gelu)"
                )));
            }
        }
        for e in [t.layer_norm_eps, v.layer_norm_eps] {
            if (e - 1e-5).abs() > 1e-12 {
                return Err(Error::Unsupported(format!(
                    "layer_norm_eps {e} (only 1e-5)"
                )));
            }
        }
        if t.projection_dim != v.projection_dim {
            return Err(Error::Unsupported(format!(
                "text projection {} differs from vision projection {}",
                t.projection_dim, v.projection_dim
            )));
        }
        if t.hidden_size % t.num_attention_heads != 0 || v.hidden_size % v.num_attention_heads != 0
        {
            return Err(Error::Unsupported(
                "hidden size not divisible by the number of heads".to_owned(),
            ));
        }
        if v.patch_size == 0 || v.image_size % v.patch_size != 0 {
            return Err(Error::Unsupported(format!(
                "image size {} with patch size {}",
                v.image_size, v.patch_size
            )));
        }
        let candle = ClipConfig {
            text_config: ClipTextConfig {
                vocab_size: t.vocab_size,
                embed_dim: t.hidden_size,
                activation: Activation::QuickGelu,
                intermediate_size: t.intermediate_size,
                max_position_embeddings: t.max_position_embeddings,
                pad_with: None,
                num_hidden_layers: t.num_hidden_layers,
                num_attention_heads: t.num_attention_heads,
                projection_dim: t.projection_dim,
            },
            vision_config: ClipVisionConfig {
                embed_dim: v.hidden_size,
                activation: Activation::QuickGelu,
                intermediate_size: v.intermediate_size,
                num_hidden_layers: v.num_hidden_layers,
                num_attention_heads: v.num_attention_heads,
                projection_dim: v.projection_dim,
                num_channels: v.num_channels,
                image_size: v.image_size,
                patch_size: v.patch_size,
            },
            logit_scale_init_value: self.logit_scale_init_value,
            image_size: v.image_size,
        };
        Ok(Parsed {
            candle,
            context_length: t.max_position_embeddings,
            eos_token_id: t.eos_token_id,
        })
    }
}
