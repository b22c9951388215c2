//! CLIP's image tower (`vision_model` + `visual_projection`): patches → pre-norm → encoder →
//! the class token, post-norm → projection.

use candle_core::{IndexOp, Result, Tensor};
use candle_nn::{LayerNorm, Module, VarBuilder};

use super::config::VisionConfig;
use crate::kernels::sgemm::Precision;
use crate::nn::{Encoder, Linear, PatchEmbedding};

#[derive(Debug, Clone)]
pub(crate) struct VisionTower {
    patches: PatchEmbedding,
    class_embedding: Tensor,
    positions: Tensor,
    pre_norm: LayerNorm,
    encoder: Encoder,
    post_norm: LayerNorm,
    projection: Linear,
}

impl VisionTower {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.patches.set_precision(precision)?;
        self.encoder.set_precision(precision)?;
        self.projection.set_precision(precision)
    }

    pub(crate) fn load(vb: &VarBuilder, c: &VisionConfig, projection_dim: usize) -> Result<Self> {
        let (d, p, ch) = (c.encoder.hidden, c.patch_size, c.channels);
        let tower = vb.pp("vision_model");
        let emb = tower.pp("embeddings");
        let patches = PatchEmbedding::load(&emb.pp("patch_embedding"), d, ch, p, false)?;
        let grid = c.image_size / p;
        let norm = |name: &str| candle_nn::layer_norm(d, c.encoder.eps, tower.pp(name));
        Ok(Self {
            patches,
            class_embedding: emb.get(d, "class_embedding")?,
            positions: emb.get((grid * grid + 1, d), "position_embedding.weight")?,
            pre_norm: norm("pre_layrnorm")?,
            encoder: Encoder::load(&tower.pp("encoder"), &c.encoder)?,
            post_norm: norm("post_layernorm")?,
            projection: Linear::load(&vb.pp("visual_projection"), d, projection_dim, false)?,
        })
    }

    /// `pixels`: `[B, C, H, W]` → unnormalised features `[B, projection_dim]`.
    pub(crate) fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let patches = self.patches.forward(pixels)?;
        let b = patches.dim(0)?;
        let class = self
            .class_embedding
            .reshape((1, 1, ()))?
            .repeat((b, 1, 1))?;
        let tokens = Tensor::cat(&[&class, &patches], 1)?.broadcast_add(&self.positions)?;
        let encoded = self
            .encoder
            .forward(&self.pre_norm.forward(&tokens)?, false)?;
        let pooled = self
            .post_norm
            .forward(&encoded.i((.., 0, ..))?.contiguous()?)?;
        self.projection.forward(&pooled)
    }
}
