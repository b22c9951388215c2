//! CPU kernels where candle's generic ones leave most of the machine idle.
//!
//! - [`sgemm`]: the matrix products of the transformer layers, `y = x · Wᵀ + b`, with `W`
//!   packed once when the model loads (candle's `gemm` repacks on every call and splits
//!   small products poorly across threads).
//! - [`attention`]: self-attention straight from the fused query-key-value projection.
//! - [`grouped_conv`]: depthwise (and channel-multiplier) convolutions as direct loops.
//!
//! Both run where AVX2 and FMA are present; the layers in [`crate::nn`] fall back to candle's
//! operations elsewhere (other CPUs, GPUs).

pub(crate) mod attention;
pub(crate) mod grouped_conv;
pub(crate) mod sgemm;
