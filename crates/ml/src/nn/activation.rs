//! The activations of the encoders' MLPs, read from `hidden_act` in `config.json`.

use candle_core::{Result, Tensor};

use crate::{Error, Result as MlResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `x · σ(1.702 x)` (OpenAI CLIP).
    QuickGelu,
    /// GELU with the tanh approximation (SigLIP's `gelu_pytorch_tanh`).
    GeluTanh,
}

impl Activation {
    pub(crate) fn parse(name: &str) -> MlResult<Self> {
        match name {
            "quick_gelu" => Ok(Self::QuickGelu),
            "gelu_pytorch_tanh" => Ok(Self::GeluTanh),
            other => Err(Error::Unsupported(format!(
                "activation {other:?} (expected quick_gelu or gelu_pytorch_tanh)"
            ))),
        }
    }

    pub(crate) fn forward(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::QuickGelu => x * candle_nn::ops::sigmoid(&(x * 1.702)?)?,
            Self::GeluTanh => x.gelu(),
        }
    }
}
