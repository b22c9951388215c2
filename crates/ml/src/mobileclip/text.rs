//! MobileCLIP's text tower, OpenCLIP's `TextTransformer` (`text.*`): token and learned position
//! embeddings, pre-norm residual blocks (`ln_1`, `nn.MultiheadAttention`, `ln_2`, `c_fc` → GELU →
//! `c_proj`) attending without any mask, a final LayerNorm, pooling at the end-of-text token (the
//! largest id) and `pooled · text_projection`.

use candle_core::{D, IndexOp, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Module, VarBuilder};

use crate::nn::{Activation, Attention, Linear};

/// OpenCLIP's layer norms.
const EPS: f64 = 1e-5;

/// The widths of the text tower.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextConfig {
    pub(crate) vocab: usize,
    pub(crate) context: usize,
    pub(crate) width: usize,
    pub(crate) heads: usize,
    pub(crate) layers: usize,
    pub(crate) hidden: usize,
    pub(crate) embed: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct TextTower {
    tokens: Embedding,
    positions: Tensor,
    layers: Vec<Layer>,
    final_norm: LayerNorm,
    projection: Tensor,
}

#[derive(Debug, Clone)]
struct Layer {
    norm1: LayerNorm,
    attention: Attention,
    norm2: LayerNorm,
    fc: Linear,
    proj: Linear,
}

impl TextTower {
    /// `vb`: the `text` prefix.
    pub(crate) fn load(vb: &VarBuilder, c: &TextConfig) -> Result<Self> {
        let w = c.width;
        let layers = (0..c.layers)
            .map(|i| {
                let l = vb.pp(format!("transformer.resblocks.{i}"));
                Ok(Layer {
                    norm1: candle_nn::layer_norm(w, EPS, l.pp("ln_1"))?,
                    attention: Attention::load(&l.pp("attn"), w, c.heads)?,
                    norm2: candle_nn::layer_norm(w, EPS, l.pp("ln_2"))?,
                    fc: Linear::load(&l.pp("mlp.c_fc"), w, c.hidden, true)?,
                    proj: Linear::load(&l.pp("mlp.c_proj"), c.hidden, w, true)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            tokens: candle_nn::embedding(c.vocab, w, vb.pp("token_embedding"))?,
            positions: vb.get((c.context, w), "positional_embedding")?,
            layers,
            final_norm: candle_nn::layer_norm(w, EPS, vb.pp("ln_final"))?,
            projection: vb.get((w, c.embed), "text_projection")?,
        })
    }

    /// `ids`: `[B, S]` (padded with 0 to the context, as open_clip does) → features `[B, embed]`.
    pub(crate) fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let s = ids.dim(1)?;
        let mut x = self
            .tokens
            .forward(ids)?
            .broadcast_add(&self.positions.narrow(0, 0, s)?)?;
        for layer in &self.layers {
            x = (&x + layer.attention.forward(&layer.norm1.forward(&x)?, false)?)?;
            let hidden = layer
                .fc
                .forward_activated(&layer.norm2.forward(&x)?, Activation::Gelu)?;
            x = (&x + layer.proj.forward(&hidden)?)?;
        }
        let x = self.final_norm.forward(&x)?;
        let ends = ids.argmax(D::Minus1)?.to_vec1::<u32>()?;
        let pooled = ends
            .iter()
            .enumerate()
            .map(|(b, &end)| x.i((b, end as usize)))
            .collect::<Result<Vec<_>>>()?;
        Tensor::stack(&pooled, 0)?.matmul(&self.projection)
    }
}
