//! PaliGemma's `config.json`. Hub files list only what differs from transformers' defaults, so
//! every field has the default of `PaliGemmaConfig` / `GemmaConfig` / `SiglipVisionConfig`.

use serde::Deserialize;

use crate::siglip::HfVision;

#[derive(Debug, Deserialize)]
pub(crate) struct HfPaliGemmaConfig {
    #[serde(default)]
    pub(crate) vision_config: HfVision,
    #[serde(default)]
    pub(crate) text_config: GemmaConfig,
    /// The projector's output width.
    #[serde(default = "width")]
    pub(crate) projection_dim: usize,
    /// The image features are divided by √hidden_size.
    #[serde(default = "width")]
    pub(crate) hidden_size: usize,
    #[serde(default = "eos")]
    pub(crate) eos_token_id: u32,
}

fn width() -> usize {
    2048
}

fn eos() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct GemmaConfig {
    pub(crate) vocab_size: usize,
    pub(crate) hidden_size: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) num_key_value_heads: usize,
    pub(crate) head_dim: usize,
    pub(crate) rms_norm_eps: f64,
    pub(crate) rope_theta: f64,
    pub(crate) max_position_embeddings: usize,
    pub(crate) hidden_activation: Option<String>,
}

impl Default for GemmaConfig {
    fn default() -> Self {
        Self {
            vocab_size: 257_216,
            hidden_size: 2048,
            intermediate_size: 16384,
            num_hidden_layers: 18,
            num_attention_heads: 8,
            num_key_value_heads: 1,
            head_dim: 256,
            rms_norm_eps: 1e-6,
            rope_theta: 10_000.0,
            max_position_embeddings: 8192,
            hidden_activation: None,
        }
    }
}
