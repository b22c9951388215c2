//! The two-layer MLP of transformer blocks (`mlp.fc1`, activation, `mlp.fc2`).

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::{Activation, Linear};
use crate::kernels::sgemm::Precision;

#[derive(Debug, Clone)]
pub(crate) struct Mlp {
    fc1: Linear,
    fc2: Linear,
    activation: Activation,
}

impl Mlp {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.fc1.set_precision(precision)?;
        self.fc2.set_precision(precision)
    }

    /// The layers under `vb` (the `mlp` prefix).
    pub(crate) fn load(
        vb: &VarBuilder,
        hidden: usize,
        intermediate: usize,
        activation: Activation,
    ) -> Result<Self> {
        Ok(Self {
            fc1: Linear::load(&vb.pp("fc1"), hidden, intermediate, true)?,
            fc2: Linear::load(&vb.pp("fc2"), intermediate, hidden, true)?,
            activation,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2
            .forward(&self.fc1.forward_activated(x, self.activation)?)
    }
}
