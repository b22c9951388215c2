//! CLIP's `config.json` (the Hugging Face `CLIPConfig`). Every variant (ViT-B/32, B/16, L/14,
//! …) is read from the file; missing keys take the reference implementation's defaults.

use serde::Deserialize;

use crate::nn::{Activation, EncoderConfig};
use crate::{Error, Result};

#[derive(Debug, Deserialize)]
pub(crate) struct HfClipConfig {
    text_config: HfText,
    vision_config: HfVision,
}

/// CLIP's text tower in `config.json` (`CLIPTextConfig`; also Stable Diffusion's
/// `text_encoder/config.json`).
#[derive(Debug, Deserialize)]
pub(crate) struct HfText {
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

/// The towers' shapes, checked.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub(crate) text: TextConfig,
    pub(crate) vision: VisionConfig,
    /// The shared embedding width.
    pub(crate) projection_dim: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct TextConfig {
    pub(crate) encoder: EncoderConfig,
    pub(crate) vocab_size: usize,
    /// The context length (77 for CLIP).
    pub(crate) context_length: usize,
    /// The end-of-text token, whose position pools the text tower.
    pub(crate) eos_token_id: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct VisionConfig {
    pub(crate) encoder: EncoderConfig,
    pub(crate) channels: usize,
    pub(crate) image_size: usize,
    pub(crate) patch_size: usize,
}

impl HfClipConfig {
    pub(crate) fn parse(self) -> Result<Parsed> {
        let (t, v) = (&self.text_config, &self.vision_config);
        if t.projection_dim != v.projection_dim {
            return Err(Error::Unsupported(format!(
                "text projection {} differs from vision projection {}",
                t.projection_dim, v.projection_dim
            )));
        }
        if v.patch_size == 0 || v.image_size % v.patch_size != 0 {
            return Err(Error::Unsupported(format!(
                "image size {} with patch size {}",
                v.image_size, v.patch_size
            )));
        }
        Ok(Parsed {
            text: self.text_config.parse()?,
            vision: VisionConfig {
                encoder: encoder_config(
                    v.hidden_size,
                    v.intermediate_size,
                    v.num_hidden_layers,
                    v.num_attention_heads,
                    v.layer_norm_eps,
                    &v.hidden_act,
                )?,
                channels: v.num_channels,
                image_size: v.image_size,
                patch_size: v.patch_size,
            },
            projection_dim: v.projection_dim,
        })
    }
}

impl HfText {
    /// The text tower's shape, checked.
    pub(crate) fn parse(&self) -> Result<TextConfig> {
        Ok(TextConfig {
            encoder: encoder_config(
                self.hidden_size,
                self.intermediate_size,
                self.num_hidden_layers,
                self.num_attention_heads,
                self.layer_norm_eps,
                &self.hidden_act,
            )?,
            vocab_size: self.vocab_size,
            context_length: self.max_position_embeddings,
            eos_token_id: self.eos_token_id,
        })
    }
}

/// One tower's encoder shape, checked.
pub(crate) fn encoder_config(
    hidden: usize,
    intermediate: usize,
    layers: usize,
    heads: usize,
    eps: f64,
    act: &str,
) -> Result<EncoderConfig> {
    if heads == 0 || !hidden.is_multiple_of(heads) {
        return Err(Error::Unsupported(format!(
            "hidden size {hidden} is not divisible into {heads} heads"
        )));
    }
    Ok(EncoderConfig {
        hidden,
        intermediate,
        layers,
        heads,
        eps,
        activation: Activation::parse(act)?,
    })
}
