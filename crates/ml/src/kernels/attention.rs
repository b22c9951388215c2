//! Self-attention over the fused `[B, S, 3·D]` query-key-value projection on the CPU, one
//! task per (image or text, head): scores, mask, softmax and the weighted sum without the
//! permutes, copies and two dozen tiny batched matmuls per layer that the tensor-level form
//! costs (at batch 1 those took as long as the linear layers).

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape};
use rayon::prelude::*;

use super::sgemm::{self, PackedWeights};

/// `softmax(q·kᵀ · scale + mask) · v` for every head, heads side by side: `[B, S, D]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SelfAttention {
    pub(crate) heads: usize,
    pub(crate) scale: f32,
    /// Position i attends only to positions ≤ i (CLIP's text tower).
    pub(crate) causal: bool,
}

impl SelfAttention {
    /// One head of one sequence: `[S, head_dim]`.
    fn head(&self, qkv: &[f32], s: usize, d: usize, h: usize) -> Option<Vec<f32>> {
        let hd = d / self.heads;
        let part = |which: usize, scale: f32| -> Vec<f32> {
            (0..s)
                .flat_map(|i| {
                    let at = i * 3 * d + which * d + h * hd;
                    qkv[at..at + hd].iter().map(move |v| v * scale)
                })
                .collect()
        };
        let (q, k, v) = (part(0, self.scale), part(1, 1.0), part(2, 1.0));
        let mut scores = sgemm::matmul_serial(&q, s, &PackedWeights::new(&k, s, hd)?, None);
        for (i, row) in scores.chunks_exact_mut(s).enumerate() {
            if self.causal {
                row[i + 1..].fill(f32::NEG_INFINITY);
            }
            softmax(row);
        }
        // v as weights: `[head_dim, S]`.
        let vt: Vec<f32> = (0..hd)
            .flat_map(|j| (0..s).map(move |i| (i, j)))
            .map(|(i, j)| v[i * hd + j])
            .collect();
        Some(sgemm::matmul_serial(
            &scores,
            s,
            &PackedWeights::new(&vt, hd, s)?,
            None,
        ))
    }
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in row.iter_mut() {
        *x /= sum;
    }
}

impl CustomOp1 for SelfAttention {
    fn name(&self) -> &'static str {
        "self-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("self-attention: expected f32 input");
        };
        let (b, s, d3) = layout.shape().dims3()?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("self-attention: input is not contiguous");
        };
        let d = d3 / 3;
        if d3 % 3 != 0 || self.heads == 0 || d % self.heads != 0 {
            candle_core::bail!("self-attention: width {d3} does not split into q, k, v heads");
        }
        let qkv = &data[start..end];
        let heads: Vec<Vec<f32>> = (0..b * self.heads)
            .into_par_iter()
            .map(|t| {
                let (seq, h) = (t / self.heads, t % self.heads);
                self.head(&qkv[seq * s * d3..(seq + 1) * s * d3], s, d, h)
            })
            .collect::<Option<_>>()
            .ok_or_else(|| {
                candle_core::Error::Msg("self-attention: CPU kernel unavailable".into())
            })?;
        let hd = d / self.heads;
        let mut out = vec![0f32; b * s * d];
        for (t, head) in heads.iter().enumerate() {
            let (seq, h) = (t / self.heads, t % self.heads);
            for (i, row) in head.chunks_exact(hd).enumerate() {
                let at = (seq * s + i) * d + h * hd;
                out[at..at + hd].copy_from_slice(row);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((b, s, d))))
    }
}
