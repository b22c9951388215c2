//! A linear layer, `y = x · Wᵀ + b`: on CPUs with AVX2 and FMA through [`sgemm`] with the
//! weights packed at load time; elsewhere (other CPUs, GPUs) through candle's matmul.

use std::cell::Cell;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Result, Shape, Tensor};
use candle_nn::VarBuilder;

use super::Activation;
use crate::kernels::sgemm::{self, PackedWeights, Precision};

thread_local! {
    /// The precision layers are made in while a model loads on this thread.
    static LOAD_PRECISION: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// Runs `load` (a model's loading, on this thread) with every layer it makes put straight into
/// `precision`: converting after loading would hold the f32 form and the new one at once.
pub(crate) fn loading_in<R>(precision: Precision, load: impl FnOnce() -> R) -> R {
    /// Puts the previous precision back, even when `load` panics.
    struct Restore(Precision);
    impl Drop for Restore {
        fn drop(&mut self) {
            LOAD_PRECISION.set(self.0);
        }
    }
    let _restore = Restore(LOAD_PRECISION.replace(precision));
    load()
}

#[derive(Debug, Clone)]
pub(crate) enum Linear {
    /// Through candle's matmul: `weight` is `[out, in]`.
    Plain {
        weight: Tensor,
        bias: Option<Tensor>,
    },
    /// The CPU form: only the packed weights are kept (not the `[out, in]` tensor too, which
    /// would double a model's memory).
    Packed(Packed),
    /// Weights quantised in GGML's block formats, multiplied by candle's quantised kernels.
    Quantized {
        weight: Arc<QTensor>,
        bias: Option<Tensor>,
    },
}

/// The CPU form of the layer.
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    weights: PackedWeights,
    bias: Option<Vec<f32>>,
}

impl Linear {
    /// Has the layer multiply in `precision`: repacked in f32 or bf16 (where the CPU has it;
    /// see [`PackedWeights::with_precision`]), or quantised. Weights once rounded stay rounded
    /// (bf16 or quantised back to f32 keeps the rounded values).
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        let quantized = match precision {
            Precision::F32 | Precision::Bf16 => None,
            Precision::Q8_0 => Some(GgmlDType::Q8_0),
            Precision::Q4K => Some(GgmlDType::Q4K),
        };
        let (weight, bias) = self.parts()?;
        if !weight.device().is_cpu() {
            return Ok(());
        }
        let (n, k) = weight.dims2()?;
        let Some(mut dtype) = quantized else {
            let data = weight.flatten_all()?.to_vec1::<f32>()?;
            if let Some(weights) = PackedWeights::with_precision(&data, n, k, precision) {
                *self = Self::Packed(Packed {
                    weights,
                    bias: bias.as_ref().map(Tensor::to_vec1::<f32>).transpose()?,
                });
            }
            return Ok(());
        };
        if dtype == GgmlDType::Q4K && !k.is_multiple_of(dtype.block_size()) {
            dtype = GgmlDType::Q8_0;
        }
        if k.is_multiple_of(dtype.block_size()) {
            *self = Self::Quantized {
                weight: Arc::new(QTensor::quantize(&weight, dtype)?),
                bias,
            };
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
        let parts: Vec<(Tensor, Option<Tensor>)> =
            parts.iter().map(Self::parts).collect::<Result<_>>()?;
        let weights: Vec<&Tensor> = parts.iter().map(|(w, _)| w).collect();
        let biases: Option<Vec<&Tensor>> = parts.iter().map(|(_, b)| b.as_ref()).collect();
        let bias = match biases {
            Some(b) => Some(Tensor::cat(&b, 0)?),
            None => None,
        };
        Self::from_parts(Tensor::cat(&weights, 0)?, bias)
    }

    /// The weight (`[out, in]`) and bias back as tensors.
    fn parts(&self) -> Result<(Tensor, Option<Tensor>)> {
        match self {
            Self::Plain { weight, bias } => Ok((weight.clone(), bias.clone())),
            Self::Quantized { weight, bias } => {
                Ok((weight.dequantize(&weight.device())?, bias.clone()))
            }
            Self::Packed(packed) => {
                let (n, k) = (packed.weights.n(), packed.weights.k());
                let weight = Tensor::from_vec(packed.weights.unpack(), (n, k), &Device::Cpu)?;
                let bias = match &packed.bias {
                    Some(b) => Some(Tensor::new(b.as_slice(), &Device::Cpu)?),
                    None => None,
                };
                Ok((weight, bias))
            }
        }
    }

    /// A layer from its weight (`[out, in]`) and bias (`[out]`), packed for the CPU in the
    /// precision of the load under way ([`loading_in`]; f32 outside one).
    pub(crate) fn from_parts(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let mut layer = Self::Plain { weight, bias };
        if layer.parts()?.0.dtype() == DType::F32 {
            layer.set_precision(LOAD_PRECISION.get())?;
        }
        Ok(layer)
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
        let (weight, bias) = match self {
            Self::Packed(packed) => {
                let dtype = x.dtype();
                return x
                    .to_dtype(DType::F32)?
                    .contiguous()?
                    .apply_op1_no_bwd(&PackedOp { packed, activation })?
                    .to_dtype(dtype);
            }
            Self::Quantized { weight, bias } => {
                let dtype = x.dtype();
                let y = x
                    .to_dtype(DType::F32)?
                    .contiguous()?
                    .apply_op1_no_bwd(weight.as_ref())?;
                return Self::finish(y, bias.as_ref(), activation)?.to_dtype(dtype);
            }
            Self::Plain { weight, bias } => (weight, bias),
        };
        Self::finish(x.broadcast_matmul(&weight.t()?)?, bias.as_ref(), activation)
    }

    /// `activation(y + b)`.
    fn finish(y: Tensor, bias: Option<&Tensor>, activation: Option<Activation>) -> Result<Tensor> {
        let y = match bias {
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
    use candle_core::Tensor;

    use super::*;

    #[test]
    fn the_packed_path_matches_candles_matmul_with_each_activation() -> Result<()> {
        let weight = Tensor::randn(0f32, 1.0, (37, 19), &Device::Cpu)?;
        let bias = Tensor::randn(0f32, 1.0, 37, &Device::Cpu)?;
        let packed = Linear::from_parts(weight.clone(), Some(bias.clone()))?;
        let plain = Linear::Plain {
            weight,
            bias: Some(bias),
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

    #[test]
    fn packed_layers_concatenate_like_their_weights() -> Result<()> {
        let parts: Vec<(Tensor, Tensor)> = (0..3)
            .map(|_| {
                Ok((
                    Tensor::randn(0f32, 1.0, (8, 19), &Device::Cpu)?,
                    Tensor::randn(0f32, 1.0, 8, &Device::Cpu)?,
                ))
            })
            .collect::<Result<_>>()?;
        let layers: Vec<Linear> = parts
            .iter()
            .map(|(w, b)| Linear::from_parts(w.clone(), Some(b.clone())))
            .collect::<Result<_>>()?;
        let joined = Linear::concat(&layers)?;
        let x = Tensor::randn(0f32, 1.0, (4, 19), &Device::Cpu)?;
        let separate: Vec<Tensor> = layers
            .iter()
            .map(|l| l.forward(&x))
            .collect::<Result<_>>()?;
        let diff = (joined.forward(&x)? - Tensor::cat(&separate, 1)?)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-5, "differs by {diff}");
        Ok(())
    }

    #[test]
    fn quantised_layers_stay_close_to_f32_and_narrow_ones_stay_f32() -> Result<()> {
        // Relative error of the product: ‖y_q − y‖ / ‖y‖.
        let relative = |a: &Tensor, b: &Tensor| -> Result<f32> {
            let norm = |t: &Tensor| t.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>();
            Ok(norm(&(a - b)?)? / norm(b)?)
        };
        for (k, precision, bound, kept) in [
            (256, Precision::Q4K, 0.15, "q4_k"),
            (64, Precision::Q4K, 0.01, "q8_0"),
            (64, Precision::Q8_0, 0.01, "q8_0"),
            (19, Precision::Q8_0, 1e-6, "f32"),
        ] {
            let weight = Tensor::randn(0f32, 1.0, (24, k), &Device::Cpu)?;
            let bias = Tensor::randn(0f32, 1.0, 24, &Device::Cpu)?;
            let x = Tensor::randn(0f32, 1.0, (2, 3, k), &Device::Cpu)?;
            let mut layer = Linear::from_parts(weight.clone(), Some(bias.clone()))?;
            let exact = layer.forward_activated(&x, Activation::GeluTanh)?;
            layer.set_precision(precision)?;
            let form = match &layer {
                Linear::Quantized { weight, .. } => format!("{:?}", weight.dtype()).to_lowercase(),
                Linear::Packed(_) | Linear::Plain { .. } => "f32".to_owned(),
            };
            assert_eq!(
                form.replace('_', ""),
                kept.replace('_', ""),
                "k {k}, {precision:?}"
            );
            let y = layer.forward_activated(&x, Activation::GeluTanh)?;
            assert_eq!(y.dims(), &[2, 3, 24]);
            let error = relative(&y, &exact)?;
            assert!(
                error < bound,
                "k {k}, {precision:?}: relative error {error}"
            );
        }
        Ok(())
    }
}
