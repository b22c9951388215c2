//! The pre-norm transformer encoder of CLIP's and SigLIP's towers (`encoder.layers.N` with
//! `layer_norm1`, `self_attn`, `layer_norm2`, `mlp.fc1`, `mlp.fc2`).

use candle_core::{Result, Tensor};
use candle_nn::{LayerNorm, Module, VarBuilder};

use super::attention::Attention;
use super::{Activation, Mlp};
use crate::kernels::sgemm::Precision;

#[derive(Debug, Clone, Copy)]
pub(crate) struct EncoderConfig {
    pub(crate) hidden: usize,
    pub(crate) intermediate: usize,
    pub(crate) layers: usize,
    pub(crate) heads: usize,
    pub(crate) eps: f64,
    pub(crate) activation: Activation,
}

#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    layers: Vec<Layer>,
}

#[derive(Debug, Clone)]
struct Layer {
    norm1: LayerNorm,
    attention: Attention,
    norm2: LayerNorm,
    mlp: Mlp,
}

impl Encoder {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        for layer in &mut self.layers {
            layer.attention.set_precision(precision)?;
            layer.mlp.set_precision(precision)?;
        }
        Ok(())
    }

    /// The layers under `vb` (the `encoder` prefix).
    pub(crate) fn load(vb: &VarBuilder, c: &EncoderConfig) -> Result<Self> {
        let layers = (0..c.layers)
            .map(|i| Layer::load(&vb.pp(format!("layers.{i}")), c))
            .collect::<Result<_>>()?;
        Ok(Self { layers })
    }

    /// `x`: `[B, S, D]`; with `causal`, position i attends only to positions ≤ i.
    pub(crate) fn forward(&self, x: &Tensor, causal: bool) -> Result<Tensor> {
        self.layers
            .iter()
            .try_fold(x.clone(), |x, layer| layer.forward(&x, causal))
    }
}

impl Layer {
    fn load(vb: &VarBuilder, c: &EncoderConfig) -> Result<Self> {
        let norm = |name: &str| candle_nn::layer_norm(c.hidden, c.eps, vb.pp(name));
        Ok(Self {
            norm1: norm("layer_norm1")?,
            attention: Attention::load(&vb.pp("self_attn"), c.hidden, c.heads)?,
            norm2: norm("layer_norm2")?,
            mlp: Mlp::load(&vb.pp("mlp"), c.hidden, c.intermediate, c.activation)?,
        })
    }

    fn forward(&self, x: &Tensor, causal: bool) -> Result<Tensor> {
        let attended = (x + self.attention.forward(&self.norm1.forward(x)?, causal)?)?;
        &attended + self.mlp.forward(&self.norm2.forward(&attended)?)?
    }
}
