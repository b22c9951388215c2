//! CLIP's text tower: `text_model` (tokens → causal encoder → final norm) and, for embeddings,
//! `text_projection` of the end-of-text token's state. Stable Diffusion conditions on the
//! whole `text_model` output instead ([`TextModel::states`]).

use candle_core::{IndexOp, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Module, VarBuilder};

use super::config::TextConfig;
use crate::kernels::sgemm::Precision;
use crate::nn::{Encoder, Linear};

/// `text_model`: the transformer without a projection (transformers' `CLIPTextModel`).
#[derive(Debug, Clone)]
pub(crate) struct TextModel {
    tokens: Embedding,
    positions: Tensor,
    encoder: Encoder,
    final_norm: LayerNorm,
}

impl TextModel {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.encoder.set_precision(precision)
    }

    /// Loads `text_model.*` under `vb`.
    pub(crate) fn load(vb: &VarBuilder, c: &TextConfig) -> Result<Self> {
        let d = c.encoder.hidden;
        let tower = vb.pp("text_model");
        let emb = tower.pp("embeddings");
        Ok(Self {
            tokens: candle_nn::embedding(c.vocab_size, d, emb.pp("token_embedding"))?,
            positions: emb.get((c.context_length, d), "position_embedding.weight")?,
            encoder: Encoder::load(&tower.pp("encoder"), &c.encoder)?,
            final_norm: candle_nn::layer_norm(d, c.encoder.eps, tower.pp("final_layer_norm"))?,
        })
    }

    /// The encoder's output before the final norm: `[B, S, D]`.
    fn encoded(&self, ids: &Tensor) -> Result<Tensor> {
        let (_, s) = ids.dims2()?;
        let x = self
            .tokens
            .forward(ids)?
            .broadcast_add(&self.positions.narrow(0, 0, s)?)?;
        self.encoder.forward(&x, true)
    }

    /// Every position's final state (`last_hidden_state`): `[B, S, D]`.
    pub(crate) fn states(&self, ids: &Tensor) -> Result<Tensor> {
        self.final_norm.forward(&self.encoded(ids)?)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TextTower {
    model: TextModel,
    projection: Linear,
}

impl TextTower {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.model.set_precision(precision)?;
        self.projection.set_precision(precision)
    }

    pub(crate) fn load(vb: &VarBuilder, c: &TextConfig, projection_dim: usize) -> Result<Self> {
        Ok(Self {
            model: TextModel::load(vb, c)?,
            projection: Linear::load(
                &vb.pp("text_projection"),
                c.encoder.hidden,
                projection_dim,
                false,
            )?,
        })
    }

    /// `ids`: `[B, S]` (u32), each row padded after its end; `pool[i]`: the position of row
    /// i's end-of-text token. Causal attention means padding after it changes nothing.
    pub(crate) fn forward(&self, ids: &Tensor, pool: &[usize]) -> Result<Tensor> {
        let encoded = self.model.encoded(ids)?;
        let pooled = pool
            .iter()
            .enumerate()
            .map(|(row, &at)| encoded.i((row, at)))
            .collect::<Result<Vec<_>>>()?;
        let pooled = self.model.final_norm.forward(&Tensor::stack(&pooled, 0)?)?;
        self.projection.forward(&pooled)
    }
}
