//! Multi-head self-attention with the query, key and value projections fused into one matrix
//! product (names as in Hugging Face's CLIP and SigLIP, `self_attn.{q,k,v,out}_proj`; already
//! fused as in BLIP's vision tower, `self_attn.{qkv,projection}`, or PyTorch's
//! `nn.MultiheadAttention`, `attn.{in_proj_weight,in_proj_bias,out_proj}`).

use candle_core::{DType, Device, IndexOp, Result, Tensor};
use candle_nn::VarBuilder;

use super::Linear;
use crate::kernels::attention::SelfAttention;
use crate::kernels::sgemm::{self, Precision};

#[derive(Debug, Clone)]
pub(crate) struct Attention {
    qkv: Linear,
    out: Linear,
    heads: usize,
    scale: f64,
}

impl Attention {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.qkv.set_precision(precision)?;
        self.out.set_precision(precision)
    }

    pub(crate) fn load(vb: &VarBuilder, hidden: usize, heads: usize) -> Result<Self> {
        let proj = |name: &str| Linear::load(&vb.pp(name), hidden, hidden, true);
        let (qkv, out) = if vb.contains_tensor("in_proj_weight") {
            // PyTorch's nn.MultiheadAttention (OpenCLIP): one packed input projection.
            let qkv = Linear::from_parts(
                vb.get((3 * hidden, hidden), "in_proj_weight")?,
                Some(vb.get(3 * hidden, "in_proj_bias")?),
            )?;
            (qkv, proj("out_proj")?)
        } else if vb.contains_tensor("qkv.weight") {
            (
                Linear::load(&vb.pp("qkv"), hidden, 3 * hidden, true)?,
                proj("projection")?,
            )
        } else {
            (
                Linear::concat(&[proj("q_proj")?, proj("k_proj")?, proj("v_proj")?])?,
                proj("out_proj")?,
            )
        };
        Ok(Self {
            qkv,
            out,
            heads,
            scale: ((hidden / heads) as f64).powf(-0.5),
        })
    }

    /// `x`: `[B, S, D]`; with `causal`, position i attends only to positions ≤ i.
    pub(crate) fn forward(&self, x: &Tensor, causal: bool) -> Result<Tensor> {
        let qkv = self.qkv.forward(x)?;
        if qkv.device().is_cpu() && qkv.dtype() == DType::F32 && sgemm::supported() {
            let op = SelfAttention {
                heads: self.heads,
                scale: self.scale as f32,
                causal,
            };
            return self.out.forward(&qkv.contiguous()?.apply_op1_no_bwd(&op)?);
        }
        self.attend_tensors(&qkv, causal)
    }

    /// The same with tensor operations (any device): `qkv` is `[B, S, 3·D]`.
    fn attend_tensors(&self, qkv: &Tensor, causal: bool) -> Result<Tensor> {
        let (b, s, d3) = qkv.dims3()?;
        let head_dim = d3 / 3 / self.heads;
        let qkv = qkv
            .reshape((b, s, 3, self.heads, head_dim))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        let q = (qkv.i(0)? * self.scale)?;
        let mask = if causal {
            Some(causal_mask(s, qkv.device())?)
        } else {
            None
        };
        self.out
            .forward(&attend(&q, &qkv.i(1)?, &qkv.i(2)?, mask.as_ref())?)
    }
}

/// `[S, S]`: 0 on and below the diagonal, −∞ above.
fn causal_mask(s: usize, device: &Device) -> Result<Tensor> {
    let mask: Vec<f32> = (0..s)
        .flat_map(|i| (0..s).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(mask, (s, s), device)
}

/// Scaled queries `[B or 1, H, Sq, d]` against keys and values `[B, H, S, d]`, with `mask`
/// added to the scores: the heads' outputs side by side, `[B, Sq, H·d]`.
pub(crate) fn attend(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    let (b, h, _, d) = k.dims4()?;
    let scores = q.broadcast_matmul(&k.t()?)?;
    let scores = match mask {
        Some(mask) => scores.broadcast_add(mask)?,
        None => scores,
    };
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    let sq = probs.dim(2)?;
    probs.matmul(v)?.transpose(1, 2)?.reshape((b, sq, h * d))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;

    use super::*;

    #[test]
    fn the_cpu_kernel_matches_the_tensor_form() -> Result<()> {
        if !sgemm::supported() {
            return Ok(());
        }
        let (d, heads) = (24, 3);
        let mut tensors = HashMap::new();
        for name in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            tensors.insert(
                format!("{name}.weight"),
                Tensor::randn(0f32, 0.5, (d, d), &Device::Cpu)?,
            );
            tensors.insert(
                format!("{name}.bias"),
                Tensor::randn(0f32, 0.5, d, &Device::Cpu)?,
            );
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let attention = Attention::load(&vb, d, heads)?;
        let x = Tensor::randn(0f32, 1.0, (2, 7, d), &Device::Cpu)?;
        for causal in [false, true] {
            let kernel = attention.forward(&x, causal)?;
            let tensors = attention.attend_tensors(&attention.qkv.forward(&x)?, causal)?;
            let diff = (kernel - tensors)?
                .abs()?
                .flatten_all()?
                .max(0)?
                .to_scalar::<f32>()?;
            assert!(diff < 1e-4, "causal {causal}: differs by {diff}");
        }
        Ok(())
    }
}
