//! `y = x · Wᵀ + b` on x86-64 with AVX2 and FMA (AVX-512 where present), `W` packed once at
//! load time, in f32 or (on CPUs with AVX-512 BF16, when asked) in bf16.
//!
//! The layout is the classic one of BLIS and OpenBLAS: `W` (`n × k`, PyTorch's `[out, in]`)
//! is stored as panels of [`NR`] output columns, each panel `k × NR` contiguous, so the
//! micro-kernel (`tile.rs`) streams it with aligned-width loads per step while broadcasting
//! [`MR`] rows of `x`. Rows of `x` are taken in blocks of [`MC`] that stay in L2; threads split
//! the panels (few rows) or the rows (many), so each writes its own part of `y`.
//!
//! In bf16 (`pack.rs`) both operands are rounded to bf16 — weights at packing, `x` as its rows
//! are packed — and products accumulate in f32: twice the multiply-adds per instruction, at
//! about three significant digits per operand.
//!
//! Where AVX2 + FMA are missing (or on other architectures) [`PackedWeights::new`] returns
//! `None` and callers use candle's matmul.

mod pack;
mod tile;

use rayon::prelude::*;

use self::pack::{Element, Panels};
use self::tile::{Block, SharedOut, Start, Tile};

/// `ymm` registers (eight f32 each) across a panel.
const NV: usize = 2;
/// Output columns per panel.
const NR: usize = NV * 8;
/// Rows of `x` per micro-kernel tile: `MR × NV` accumulators, `NV` panel registers and one
/// broadcast take 15 of the 16 `ymm` registers. (4 × 24 would take all 16, and LLVM then
/// spills an accumulator in the loop: half the speed.)
const MR: usize = 6;
/// Rows of `x` per block that stays in L2 while the panels stream past.
const MC: usize = 72;
/// Depth per block (inputs; even, so bf16 pairs never straddle blocks): a panel slice
/// (`KC × NR` f32, 16 KiB) stays in L1 while the row tiles pass.
const KC: usize = 256;

/// The number format the matrix products multiply in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 throughout: the reference's numbers.
    #[default]
    F32,
    /// Weights and activations rounded to bf16 for the products, accumulated in f32: about
    /// twice as fast where the CPU has AVX-512 BF16, at about 1e-2 relative error per product.
    Bf16,
    /// Weights quantised to 8 bits in blocks of 32 (GGML's `Q8_0`), a quarter of f32's
    /// memory; layers whose input width is not a multiple of 32 stay f32.
    #[serde(rename = "q8_0")]
    Q8_0,
    /// Weights quantised to about 4.5 bits in super-blocks of 256 (GGML's `Q4_K`), an eighth
    /// of f32's memory; layers whose input width is not a multiple of 256 take `Q8_0`.
    #[serde(rename = "q4_k")]
    Q4K,
}

impl Precision {
    /// The precision a model on `device` gets when asked for this one: bf16 needs a CPU with
    /// AVX-512 BF16, the quantised formats a CPU; f32 otherwise.
    pub fn effective(self, device: &candle_core::Device) -> Self {
        match self {
            Self::Bf16 if device.is_cpu() && bf16_supported() => self,
            Self::Q8_0 | Self::Q4K if device.is_cpu() => self,
            _ => Self::F32,
        }
    }
}

/// `W` (`n × k`) packed into panels of [`NR`] columns, the last one padded with zeros.
#[derive(Debug, Clone)]
pub(crate) struct PackedWeights {
    panels: Panels,
    n: usize,
    k: usize,
    /// Whether the AVX-512 micro-kernels run (this CPU has AVX-512F).
    wide: bool,
}

impl PackedWeights {
    /// Packs the row-major `n × k` matrix `w` in f32, or `None` when this CPU cannot run the
    /// kernel.
    pub(crate) fn new(w: &[f32], n: usize, k: usize) -> Option<Self> {
        Self::with_precision(w, n, k, Precision::F32)
    }

    /// As [`Self::new`], in `precision` where this CPU has the instructions for it (bf16
    /// needs AVX-512 BF16) and in f32 otherwise.
    pub(crate) fn with_precision(
        w: &[f32],
        n: usize,
        k: usize,
        precision: Precision,
    ) -> Option<Self> {
        if !supported() || w.len() != n * k || n == 0 || k == 0 {
            return None;
        }
        let bf16 = precision == Precision::Bf16 && bf16_supported();
        Some(Self {
            panels: Panels::new(w, n, k, bf16),
            n,
            k,
            wide: wide(),
        })
    }

    /// The row-major `n × k` weights these panels were packed from (rounded to bf16 when
    /// they multiply in bf16).
    pub(crate) fn unpack(&self) -> Vec<f32> {
        self.panels.unpack(self.n, self.k)
    }

    /// Output width.
    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// Input width.
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }
}

/// Whether this CPU runs the kernel (AVX2 and FMA).
pub(crate) fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU runs the AVX-512 micro-kernels.
fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU runs the bf16 micro-kernel.
pub(crate) fn bf16_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        wide() && std::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `x` (`m × k`, row-major) times `Wᵀ`, plus `bias` (length `n`) when given: a new `m × n`
/// row-major matrix, computed on the rayon pool.
pub(crate) fn matmul(x: &[f32], m: usize, w: &PackedWeights, bias: Option<&[f32]>) -> Vec<f32> {
    let threads = rayon::current_num_threads().max(1);
    // Many rows: each thread takes its own rows and every panel (the panels are shared in
    // L3). Few rows: each thread takes its own run of panels and every row.
    if m >= threads * MC {
        product(x, m, w, bias, threads, 1)
    } else {
        product(x, m, w, bias, 1, threads.min(w.panels()))
    }
}

/// [`matmul`] on the calling thread alone, for callers that are already parallel.
pub(crate) fn matmul_serial(
    x: &[f32],
    m: usize,
    w: &PackedWeights,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    product(x, m, w, bias, 1, 1)
}

/// The product split into `row_parts × panel_parts` tasks.
fn product(
    x: &[f32],
    m: usize,
    w: &PackedWeights,
    bias: Option<&[f32]>,
    row_parts: usize,
    panel_parts: usize,
) -> Vec<f32> {
    let n = w.n;
    assert_eq!(x.len(), m * w.k, "x is not m × k");
    assert!(bias.is_none_or(|b| b.len() == n), "bias is not n long");
    // Not zeroed: the first depth block writes every element before anything reads it.
    let mut y: Vec<f32> = Vec::with_capacity(m * n);
    if m == 0 {
        return y;
    }
    let out = SharedOut(y.as_mut_ptr());
    let panels = w.panels();
    let part = |t: usize| {
        let (r, p) = (t / panel_parts, t % panel_parts);
        // Row parts start on whole tiles.
        let rows = |r: usize| ((r * m / row_parts).div_ceil(MR) * MR).min(m);
        let panel = |p: usize| p * panels / panel_parts;
        let part = Part {
            x,
            w,
            bias,
            out: &out,
            rows: rows(r)..rows(r + 1),
            panels: panel(p)..panel(p + 1),
        };
        match &w.panels {
            Panels::F32(data) => part.run(data),
            Panels::Bf16(data) => part.run(data),
        }
    };
    if row_parts * panel_parts == 1 {
        part(0);
    } else {
        (0..row_parts * panel_parts).into_par_iter().for_each(part);
    }
    // SAFETY: the parts above have written all m × n elements (every row range × every panel
    // range, first depth block) and have finished.
    #[allow(unsafe_code, reason = "see SAFETY")]
    unsafe {
        y.set_len(m * n);
    }
    y
}

/// One task of a product: a range of rows against a range of panels.
struct Part<'a> {
    x: &'a [f32],
    w: &'a PackedWeights,
    bias: Option<&'a [f32]>,
    out: &'a SharedOut,
    rows: std::ops::Range<usize>,
    panels: std::ops::Range<usize>,
}

impl Part<'_> {
    /// Runs the part over `data`, the packed panels in their element type.
    fn run<T: Element>(&self, data: &[T])
    where
        for<'b> Block<'b, T>: Tile,
    {
        let (n, k) = (self.w.n, self.w.k);
        // Packed depth of the whole matrix, and of one block.
        let depth = k.div_ceil(T::PER);
        let mut packed_x = vec![T::default(); MC.div_ceil(MR) * MR * KC.div_ceil(T::PER)];
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            let (d0, dc) = (k0 / T::PER, kc.div_ceil(T::PER));
            for row0 in self.rows.clone().step_by(MC) {
                let rows = MC.min(self.rows.end - row0);
                T::pack_rows(self.x, k, row0, rows, k0, kc, &mut packed_x);
                let mut p = self.panels.start;
                while p < self.panels.end {
                    // Two panels per tile on AVX-512, one otherwise (and for an odd last one).
                    let count = if self.w.wide && p + 1 < self.panels.end {
                        2
                    } else {
                        1
                    };
                    let col0 = p * NR;
                    let cols = (count * NR).min(n - col0);
                    let mut edge = [0f32; 2 * NR];
                    if let Some(b) = self.bias {
                        edge[..cols].copy_from_slice(&b[col0..col0 + cols]);
                    }
                    let slice = |p: usize| &data[(p * depth + d0) * NR..(p * depth + d0 + dc) * NR];
                    let (panel, second) = (slice(p), (count == 2).then(|| slice(p + 1)));
                    p += count;
                    let tiles = packed_x.chunks_exact(dc * MR).take(rows.div_ceil(MR));
                    for (i, tile) in tiles.enumerate() {
                        Block {
                            x: tile,
                            panel,
                            second,
                            kc: dc,
                            // The first depth block starts from the bias; later ones add to y.
                            start: if k0 == 0 {
                                Start::Bias(&edge)
                            } else {
                                Start::Output
                            },
                            out: self.out,
                            ldy: n,
                            row0: row0 + i * MR,
                            rows: MR.min(rows - i * MR),
                            col0,
                            cols,
                        }
                        .run();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(x: &[f32], m: usize, w: &[f32], n: usize, k: usize, bias: &[f32]) -> Vec<f32> {
        let mut y = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k)
                    .map(|p| f64::from(x[i * k + p]) * f64::from(w[j * k + p]))
                    .sum();
                y[i * n + j] = dot as f32 + bias[j];
            }
        }
        y
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        // A small LCG: deterministic values in [-1, 1).
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn unpacking_gives_back_the_weights_or_their_bf16_rounding() {
        if !supported() {
            return;
        }
        let (n, k) = (37, 19);
        let w = values(n * k, 4);
        let f32_packed = PackedWeights::new(&w, n, k).expect("supported");
        assert_eq!(f32_packed.unpack(), w);
        let bf16 = PackedWeights::with_precision(&w, n, k, Precision::Bf16).expect("supported");
        let rounded: Vec<f32> = w
            .iter()
            .map(|&v| {
                if bf16_supported() {
                    f32::from_bits(pack::bf16_bits(v) << 16)
                } else {
                    v
                }
            })
            .collect();
        assert_eq!(bf16.unpack(), rounded);
    }

    #[test]
    fn matches_a_plain_product_on_every_edge_shape() {
        if !supported() {
            return;
        }
        // Row counts around MR and MC, column counts around NR, odd depths.
        for (m, n, k) in [
            (1, 1, 1),
            (5, 17, 3),
            (7, 33, 64),
            (97, 48, 31),
            (200, 70, 129),
        ] {
            let (x, w, bias) = (values(m * k, 1), values(n * k, 2), values(n, 3));
            let packed = PackedWeights::new(&w, n, k).expect("supported");
            // The AVX-512 kernel where the CPU has it, and the AVX2 kernel alone.
            let narrow = PackedWeights {
                wide: false,
                ..packed.clone()
            };
            let want = reference(&x, m, &w, n, k, &bias);
            for weights in [&packed, &narrow] {
                let got = matmul(&x, m, weights, Some(&bias));
                let worst = max_abs_diff(&got, &want);
                assert!(worst < 1e-4 * k as f32, "{m}×{n}×{k}: max abs diff {worst}");
                let unbiased = matmul(&x, m, weights, None);
                let shifted = unbiased.iter().enumerate().map(|(i, v)| v + bias[i % n]);
                assert!(shifted.zip(&got).all(|(a, b)| (a - b).abs() < 1e-5));
            }
        }
    }

    #[test]
    fn bf16_matches_a_product_of_the_rounded_inputs() {
        if !bf16_supported() {
            return;
        }
        let round = |v: &[f32]| -> Vec<f32> {
            v.iter()
                .map(|x| f32::from_bits(pack::bf16_bits(*x) << 16))
                .collect()
        };
        // Odd depths (a zero-padded last pair), a depth past one block with an odd remainder,
        // odd panel counts (a one-panel tile), rows around MR and MC.
        for (m, n, k) in [
            (1, 1, 1),
            (5, 17, 3),
            (7, 33, 64),
            (97, 48, 31),
            (200, 70, 301),
        ] {
            let (x, w, bias) = (values(m * k, 4), values(n * k, 5), values(n, 6));
            let packed =
                PackedWeights::with_precision(&w, n, k, Precision::Bf16).expect("supported");
            assert!(matches!(packed.panels, Panels::Bf16(_)));
            let want = reference(&round(&x), m, &round(&w), n, k, &bias);
            for got in [
                matmul(&x, m, &packed, Some(&bias)),
                matmul_serial(&x, m, &packed, Some(&bias)),
            ] {
                let worst = max_abs_diff(&got, &want);
                assert!(worst < 1e-4 * k as f32, "{m}×{n}×{k}: max abs diff {worst}");
            }
        }
    }

    #[test]
    fn refuses_mismatched_shapes() {
        assert!(PackedWeights::new(&[0.0; 6], 4, 2).is_none());
        assert!(PackedWeights::new(&[], 0, 0).is_none());
    }
}
