//! The activations of the encoders' MLPs, read from `hidden_act` in `config.json`.

use candle_core::{Result, Tensor};
use std::f32::consts::SQRT_2;

use rayon::prelude::*;

use crate::{Error, Result as MlResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `x · σ(1.702 x)` (OpenAI CLIP).
    QuickGelu,
    /// GELU with the tanh approximation (SigLIP's `gelu_pytorch_tanh`).
    GeluTanh,
    /// Exact GELU, `x · Φ(x)` (BLIP's `gelu`).
    Gelu,
}

impl Activation {
    pub(crate) fn parse(name: &str) -> MlResult<Self> {
        match name {
            "quick_gelu" => Ok(Self::QuickGelu),
            "gelu_pytorch_tanh" => Ok(Self::GeluTanh),
            "gelu" => Ok(Self::Gelu),
            other => Err(Error::Unsupported(format!(
                "activation {other:?} (expected quick_gelu, gelu_pytorch_tanh or gelu)"
            ))),
        }
    }

    pub(crate) fn forward(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::QuickGelu => x * candle_nn::ops::sigmoid(&(x * 1.702)?)?,
            Self::GeluTanh => x.gelu(),
            Self::Gelu => x.gelu_erf(),
        }
    }

    /// The same function applied to every value in place (candle's formulas).
    pub(crate) fn apply_in_place(self, values: &mut [f32]) {
        let f = match self {
            Self::QuickGelu => |v: f32| v / (1.0 + (-1.702 * v).exp()),
            Self::GeluTanh => |v: f32| {
                const SQRT_TWO_OVER_PI: f32 = 0.797_884_6;
                0.5 * v * (1.0 + (SQRT_TWO_OVER_PI * v * (1.0 + 0.044_715 * v * v)).tanh())
            },
            Self::Gelu => |v: f32| 0.5 * v * (1.0 + candle_core::cpu::erf::erf_f32(v / SQRT_2)),
        };
        values
            .par_chunks_mut(1 << 14)
            .for_each(|chunk| chunk.iter_mut().for_each(|v| *v = f(*v)));
    }
}
