//! A linear layer, `y = x · Wᵀ + b`: on CPUs with AVX2 and FMA through [`sgemm`] with the
//! weights packed at load time; elsewhere (other CPUs, GPUs) through candle's matmul.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use candle_nn::VarBuilder;

use super::Activation;
use crate::kernels::sgemm::{self, PackedWeights, Precision};

#[derive(Debug, Clone)]
pub(crate) struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
    packed: Option<Packed>,
}

/// The CPU form of the same layer.
#[derive(Debug, Clone)]
struct Packed {
    weights: PackedWeights,
    bias: Option<Vec<f32>>,
}

impl Linear {
    /// Repacks the weights to multiply in `precision` (where the CPU has it; see
    /// [`PackedWeights::with_precision`]); a no-op off the packed path.
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        if let Some(packed) = &mut self.packed {
            let (n, k) = (packed.weights.n(), packed.weights.k());
            let data = self.weight.flatten_all()?.to_vec1::<f32>()?;
            if let Some(weights) = PackedWeights::with_precision(&data, n, k, precision) {
                packed.weights = weights;
            }
        }
        Ok(())
    }

    /// `prefix.weight` (`[out, in]`) and, when `bias`, `prefix.bias`.
    pub(crate) fn load(vb: &VarBuilder, in_dim: usize, out_dim: usize, bias: bool) -> Result<Self> {
        let weight = vb.get((out_dim, in_dim), "weight")?;
        let bias = if bias {
            Some(vb.get(out_dim, "bias")?)
        } else {
            None
        };
        Self::from_parts(weight, bias)
    }

    /// One layer computing `parts` side by side (e.g. the query, key and value projections),
    /// so their inputs are read once.
    pub(crate) fn concat(parts: &[Self]) -> Result<Self> {
        let weights: Vec<&Tensor> = parts.iter().map(|p| &p.weight).collect();
        let biases: Option<Vec<&Tensor>> = parts.iter().map(|p| p.bias.as_ref()).collect();
        let bias = match biases {
            Some(b) => Some(Tensor::cat(&b, 0)?),
            None => None,
        };
        Self::from_parts(Tensor::cat(&weights, 0)?, bias)
    }

    /// A layer from its weight (`[out, in]`) and bias (`[out]`).
    pub(crate) fn from_parts(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let packed = if weight.device().is_cpu() && weight.dtype() == DType::F32 {
            let (out_dim, in_dim) = weight.dims2()?;
            let data = weight.flatten_all()?.to_vec1::<f32>()?;
            match PackedWeights::new(&data, out_dim, in_dim) {
                Some(weights) => Some(Packed {
                    weights,
                    bias: bias.as_ref().map(Tensor::to_vec1::<f32>).transpose()?,
                }),
                None => None,
            }
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            packed,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.apply(x, None)
    }

    /// `activation(x · Wᵀ + b)`; on the packed path the activation runs in place on the
    /// product instead of as three more tensors.
    pub(crate) fn forward_activated(&self, x: &Tensor, activation: Activation) -> Result<Tensor> {
        self.apply(x, Some(activation))
    }

    fn apply(&self, x: &Tensor, activation: Option<Activation>) -> Result<Tensor> {
        if let Some(packed) = &self.packed
            && x.device().is_cpu()
            && x.dtype() == DType::F32
        {
            return x
                .contiguous()?
                .apply_op1_no_bwd(&PackedOp { packed, activation });
        }
        let y = x.broadcast_matmul(&self.weight.t()?)?;
        let y = match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        match activation {
            Some(activation) => activation.forward(&y),
            None => Ok(y),
        }
    }
}

/// One call of the packed layer.
struct PackedOp<'a> {
    packed: &'a Packed,
    activation: Option<Activation>,
}

impl CustomOp1 for PackedOp<'_> {
    fn name(&self) -> &'static str {
        "packed-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("packed-linear: expected f32 input");
        };
        let weights = &self.packed.weights;
        let dims = layout.dims();
        let k = dims.last().copied().unwrap_or(0);
        if k != weights.k() {
            candle_core::bail!(
                "packed-linear: input width {k}, weights take {}",
                weights.k()
            );
        }
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("packed-linear: input is not contiguous");
        };
        let m = (end - start) / k;
        let mut y = sgemm::matmul(&data[start..end], m, weights, self.packed.bias.as_deref());
        if let Some(activation) = self.activation {
            activation.apply_in_place(&mut y);
        }
        let mut out_dims = dims.to_vec();
        if let Some(last) = out_dims.last_mut() {
            *last = weights.n();
        }
        Ok((CpuStorage::F32(y), Shape::from(out_dims)))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn the_packed_path_matches_candles_matmul_with_each_activation() -> Result<()> {
        let weight = Tensor::randn(0f32, 1.0, (37, 19), &Device::Cpu)?;
        let bias = Tensor::randn(0f32, 1.0, 37, &Device::Cpu)?;
        let packed = Linear::from_parts(weight.clone(), Some(bias.clone()))?;
        let plain = Linear {
            weight,
            bias: Some(bias),
            packed: None,
        };
        let x = Tensor::randn(0f32, 1.0, (3, 5, 19), &Device::Cpu)?;
        for activation in [
            None,
            Some(Activation::QuickGelu),
            Some(Activation::GeluTanh),
        ] {
            let a = packed.apply(&x, activation)?;
            let b = plain.apply(&x, activation)?;
            assert_eq!(a.dims(), &[3, 5, 37]);
            let diff = (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            assert!(diff < 1e-4, "{activation:?}: differs by {diff}");
        }
        Ok(())
    }
}
