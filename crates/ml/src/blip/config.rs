//! BLIP's `config.json`. Hub files list only what differs from transformers' defaults, so every
//! field has the default of transformers' `BlipTextConfig` / `BlipVisionConfig`.

use serde::Deserialize;

use crate::Result;
use crate::clip::encoder_config;
use crate::nn::EncoderConfig;

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct HfBlipConfig {
    #[serde(default)]
    pub(crate) text_config: TextConfig,
    #[serde(default)]
    pub(crate) vision_config: VisionConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct TextConfig {
    pub(crate) vocab_size: usize,
    pub(crate) hidden_size: usize,
    pub(crate) encoder_hidden_size: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) max_position_embeddings: usize,
    pub(crate) hidden_act: String,
    pub(crate) layer_norm_eps: f64,
    pub(crate) bos_token_id: u32,
    pub(crate) sep_token_id: u32,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            vocab_size: 30524,
            hidden_size: 768,
            encoder_hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 8,
            max_position_embeddings: 512,
            hidden_act: "gelu".to_owned(),
            layer_norm_eps: 1e-12,
            bos_token_id: 30522,
            sep_token_id: 102,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct VisionConfig {
    pub(crate) hidden_size: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) image_size: usize,
    pub(crate) patch_size: usize,
    pub(crate) hidden_act: String,
    pub(crate) layer_norm_eps: f64,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self {
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            image_size: 384,
            patch_size: 16,
            hidden_act: "gelu".to_owned(),
            layer_norm_eps: 1e-5,
        }
    }
}

impl VisionConfig {
    pub(crate) fn encoder(&self) -> Result<EncoderConfig> {
        encoder_config(
            self.hidden_size,
            self.intermediate_size,
            self.num_hidden_layers,
            self.num_attention_heads,
            self.layer_norm_eps,
            &self.hidden_act,
        )
    }
}
