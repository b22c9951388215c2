//! SigLIP's image tower (`vision_model`): patches (with bias) + positions → encoder →
//! post-norm → attention-pooling head (a learned probe attends over all patches).

use candle_core::{IndexOp, Result, Tensor};
use candle_nn::{LayerNorm, Module, VarBuilder};

use super::config::VisionConfig;
use crate::kernels::sgemm::Precision;
use crate::nn::{Encoder, Linear, Mlp, PatchEmbedding, attend};

#[derive(Debug, Clone)]
pub(crate) struct VisionTower {
    patches: PatchEmbedding,
    positions: Tensor,
    encoder: Encoder,
    post_norm: LayerNorm,
    /// The attention-pooling head; PaliGemma's tower has none (it reads every token).
    head: Option<PoolingHead>,
}

/// `vision_model.head`: `nn.MultiheadAttention` from the probe to the patches, then a
/// residual MLP block.
#[derive(Debug, Clone)]
struct PoolingHead {
    /// The probe's query, `[1, heads, 1, head_dim]`, scaled (it does not depend on the input).
    query: Tensor,
    kv: Linear,
    out: Linear,
    norm: LayerNorm,
    mlp: Mlp,
    heads: usize,
}

impl VisionTower {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.patches.set_precision(precision)?;
        self.encoder.set_precision(precision)?;
        if let Some(head) = &mut self.head {
            head.kv.set_precision(precision)?;
            head.out.set_precision(precision)?;
            head.mlp.set_precision(precision)?;
        }
        Ok(())
    }

    pub(crate) fn load(vb: &VarBuilder, c: &VisionConfig) -> Result<Self> {
        let (d, p) = (c.encoder.hidden, c.patch_size);
        let tower = vb.pp("vision_model");
        let emb = tower.pp("embeddings");
        let grid = c.image_size / p;
        Ok(Self {
            patches: PatchEmbedding::load(&emb.pp("patch_embedding"), d, c.channels, p, true)?,
            positions: emb.get((grid * grid, d), "position_embedding.weight")?,
            encoder: Encoder::load(&tower.pp("encoder"), &c.encoder)?,
            post_norm: candle_nn::layer_norm(d, c.encoder.eps, tower.pp("post_layernorm"))?,
            head: if tower.contains_tensor("head.probe") {
                Some(PoolingHead::load(&tower.pp("head"), c)?)
            } else {
                None
            },
        })
    }

    /// `pixels`: `[B, C, H, W]` at the checkpoint's image size → features `[B, D]`.
    pub(crate) fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        match &self.head {
            Some(head) => head.forward(&self.tokens(pixels)?),
            None => candle_core::bail!("this image tower has no pooling head"),
        }
    }

    /// Every patch's final state, `[B, patches, D]`.
    pub(crate) fn tokens(&self, pixels: &Tensor) -> Result<Tensor> {
        let tokens = self
            .patches
            .forward(pixels)?
            .broadcast_add(&self.positions)?;
        let encoded = self.encoder.forward(&tokens, false)?;
        self.post_norm.forward(&encoded)
    }
}

impl PoolingHead {
    fn load(vb: &VarBuilder, c: &VisionConfig) -> Result<Self> {
        let (d, heads) = (c.encoder.hidden, c.encoder.heads);
        let attn = vb.pp("attention");
        let in_w = attn.get((3 * d, d), "in_proj_weight")?;
        let in_b = attn.get(3 * d, "in_proj_bias")?;
        let probe = vb.get((1, 1, d), "probe")?.reshape((1, d))?;
        let q = Linear::from_parts(in_w.narrow(0, 0, d)?, Some(in_b.narrow(0, 0, d)?))?;
        let scale = ((d / heads) as f64).powf(-0.5);
        let query = (q
            .forward(&probe)?
            .reshape((1, 1, heads, d / heads))?
            .transpose(1, 2)?
            * scale)?;
        Ok(Self {
            query: query.contiguous()?,
            kv: Linear::from_parts(in_w.narrow(0, d, 2 * d)?, Some(in_b.narrow(0, d, 2 * d)?))?,
            out: Linear::load(&attn.pp("out_proj"), d, d, true)?,
            norm: candle_nn::layer_norm(d, c.encoder.eps, vb.pp("layernorm"))?,
            mlp: Mlp::load(
                &vb.pp("mlp"),
                d,
                c.encoder.intermediate,
                c.encoder.activation,
            )?,
            heads,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, s, d) = x.dims3()?;
        let kv = self
            .kv
            .forward(x)?
            .reshape((b, s, 2, self.heads, d / self.heads))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        let pooled = self
            .out
            .forward(&attend(&self.query, &kv.i(0)?, &kv.i(1)?, None)?)?;
        let pooled = (&pooled + self.mlp.forward(&self.norm.forward(&pooled)?)?)?;
        pooled.i((.., 0, ..))?.contiguous()
    }
}
