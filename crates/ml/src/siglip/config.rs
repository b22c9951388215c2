//! SigLIP's `config.json` (the Hugging Face `SiglipConfig`); missing keys take the reference
//! implementation's defaults.

use serde::Deserialize;

use crate::Result;
use crate::clip::encoder_config;
use crate::nn::EncoderConfig;

#[derive(Debug, Deserialize)]
pub(crate) struct HfSiglipConfig {
    #[serde(default)]
    text_config: HfText,
    #[serde(default)]
    vision_config: HfVision,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct HfText {
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    max_position_embeddings: usize,
    hidden_act: String,
    layer_norm_eps: f64,
    pad_token_id: u32,
}

impl Default for HfText {
    fn default() -> Self {
        Self {
            vocab_size: 32000,
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            max_position_embeddings: 64,
            hidden_act: "gelu_pytorch_tanh".to_owned(),
            layer_norm_eps: 1e-6,
            pad_token_id: 1,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(crate) struct HfVision {
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_channels: usize,
    image_size: usize,
    patch_size: usize,
    hidden_act: String,
    layer_norm_eps: f64,
}

impl Default for HfVision {
    fn default() -> Self {
        Self {
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_channels: 3,
            image_size: 224,
            patch_size: 16,
            hidden_act: "gelu_pytorch_tanh".to_owned(),
            layer_norm_eps: 1e-6,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TextConfig {
    pub(crate) encoder: EncoderConfig,
    pub(crate) vocab_size: usize,
    /// Every text is padded to this many tokens.
    pub(crate) context_length: usize,
    pub(crate) pad_token_id: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct VisionConfig {
    pub(crate) encoder: EncoderConfig,
    pub(crate) channels: usize,
    pub(crate) image_size: usize,
    pub(crate) patch_size: usize,
}

impl HfSiglipConfig {
    pub(crate) fn parse(self) -> Result<(TextConfig, VisionConfig)> {
        let (t, v) = (self.text_config, self.vision_config);
        if t.hidden_size != v.hidden_size {
            return Err(crate::Error::Unsupported(format!(
                "text width {} differs from image width {}",
                t.hidden_size, v.hidden_size
            )));
        }
        Ok((
            TextConfig {
                encoder: encoder_config(
                    t.hidden_size,
                    t.intermediate_size,
                    t.num_hidden_layers,
                    t.num_attention_heads,
                    t.layer_norm_eps,
                    &t.hidden_act,
                )?,
                vocab_size: t.vocab_size,
                context_length: t.max_position_embeddings,
                pad_token_id: t.pad_token_id,
            },
            v.parse()?,
        ))
    }
}

impl HfVision {
    /// The image tower's configuration (also PaliGemma's `vision_config`).
    pub(crate) fn parse(self) -> Result<VisionConfig> {
        let v = self;
        if v.patch_size == 0 || !v.image_size.is_multiple_of(v.patch_size) {
            return Err(crate::Error::Unsupported(format!(
                "image size {} with patch size {}",
                v.image_size, v.patch_size
            )));
        }
        Ok(VisionConfig {
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
        })
    }
}
