//! A vision transformer's patch embedding: the stride-`P` convolution
//! (`embeddings.patch_embedding`) computed as one matrix product over flattened patches.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::Linear;
use crate::kernels::sgemm::Precision;

#[derive(Debug, Clone)]
pub(crate) struct PatchEmbedding {
    proj: Linear,
    channels: usize,
    patch: usize,
}

impl PatchEmbedding {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.proj.set_precision(precision)
    }

    /// `vb`: the `patch_embedding` prefix; `weight` is `[hidden, channels, P, P]`.
    pub(crate) fn load(
        vb: &VarBuilder,
        hidden: usize,
        channels: usize,
        patch: usize,
        bias: bool,
    ) -> Result<Self> {
        let weight = vb
            .get((hidden, channels, patch, patch), "weight")?
            .reshape((hidden, channels * patch * patch))?;
        let bias = if bias {
            Some(vb.get(hidden, "bias")?)
        } else {
            None
        };
        Ok(Self {
            proj: Linear::from_parts(weight, bias)?,
            channels,
            patch,
        })
    }

    /// `pixels`: `[B, C, H, W]` → `[B, (H/P)·(W/P), hidden]`, patches in row-major order.
    pub(crate) fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = pixels.dims4()?;
        let p = self.patch;
        if c != self.channels || h % p != 0 || w % p != 0 {
            candle_core::bail!(
                "pixels of shape {:?} do not fit the patch embedding",
                pixels.dims()
            );
        }
        let (gh, gw) = (h / p, w / p);
        // [B, C, gh, p, gw, p] → [B, gh, gw, C, p, p]: one row per patch, in the conv's order.
        let flat = pixels
            .reshape((b, c, gh, p, gw, p))?
            .permute((0, 2, 4, 1, 3, 5))?
            .contiguous()?
            .reshape((b, gh * gw, c * p * p))?;
        self.proj.forward(&flat)
    }
}
