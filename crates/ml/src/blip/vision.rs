//! BLIP's image tower (`vision_model`): a ViT with a class token, learned positions, the
//! shared pre-norm encoder and a final LayerNorm; its output is every token's state.

use candle_core::{Result, Tensor};
use candle_nn::{LayerNorm, Module, VarBuilder};

use super::config::VisionConfig;
use crate::kernels::sgemm::Precision;
use crate::nn::{Encoder, EncoderConfig, PatchEmbedding};

#[derive(Debug, Clone)]
pub(crate) struct VisionTower {
    patches: PatchEmbedding,
    class: Tensor,
    positions: Tensor,
    encoder: Encoder,
    post_norm: LayerNorm,
}

impl VisionTower {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.patches.set_precision(precision)?;
        self.encoder.set_precision(precision)
    }

    pub(crate) fn load(vb: &VarBuilder, c: &VisionConfig, encoder: &EncoderConfig) -> Result<Self> {
        let d = c.hidden_size;
        let tower = vb.pp("vision_model");
        let emb = tower.pp("embeddings");
        let tokens = (c.image_size / c.patch_size).pow(2) + 1;
        Ok(Self {
            patches: PatchEmbedding::load(&emb.pp("patch_embedding"), d, 3, c.patch_size, true)?,
            class: emb.get((1, 1, d), "class_embedding")?,
            positions: emb.get((1, tokens, d), "position_embedding")?,
            encoder: Encoder::load(&tower.pp("encoder"), encoder)?,
            post_norm: candle_nn::layer_norm(d, c.layer_norm_eps, tower.pp("post_layernorm"))?,
        })
    }

    /// `pixels`: `[B, 3, H, W]` → `[B, 1 + patches, D]`.
    pub(crate) fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let patches = self.patches.forward(pixels)?;
        let (b, _, d) = patches.dims3()?;
        let class = self.class.broadcast_as((b, 1, d))?;
        let x = Tensor::cat(&[&class, &patches], 1)?.broadcast_add(&self.positions)?;
        self.post_norm.forward(&self.encoder.forward(&x, false)?)
    }
}
