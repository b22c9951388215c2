//! `y = x · Wᵀ + b` in f32 on x86-64 with AVX2 and FMA (AVX-512 where present), `W` packed
//! once at load time.
//!
//! The layout is the classic one of BLIS and OpenBLAS: `W` (`n × k`, PyTorch's `[out, in]`)
//! is stored as panels of [`NR`] output columns, each panel `k × NR` contiguous, so the
//! micro-kernel streams it with two aligned-width loads per step while broadcasting [`MR`]
//! rows of `x`. A `MR × NR` tile lives in 12 of the 16 `ymm` registers for the whole `k`
//! loop. With AVX-512 the micro-kernel takes two panels at once: `MR × 2NR` in 12 of the 32
//! `zmm` registers, twice the work per instruction, with masked stores at the edges. Rows of `x` are taken in blocks of [`MC`] that stay in L2; threads split the panels,
//! so each writes its own columns of `y`.
//!
//! Where AVX2 + FMA are missing (or on other architectures) [`PackedWeights::new`] returns
//! `None` and callers use candle's matmul.

#![allow(
    unsafe_code,
    reason = "SIMD intrinsics and a shared output pointer; see SAFETY notes"
)]

use rayon::prelude::*;

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
/// Depth per block: a panel slice (`KC × NR`, 16 KiB) stays in L1 while the row tiles pass.
const KC: usize = 256;

/// `W` (`n × k`) packed into panels of [`NR`] columns, the last one padded with zeros.
#[derive(Debug, Clone)]
pub(crate) struct PackedWeights {
    data: Vec<f32>,
    n: usize,
    k: usize,
    /// Whether the AVX-512 micro-kernel runs (this CPU has AVX-512F).
    wide: bool,
}

impl PackedWeights {
    /// Packs the row-major `n × k` matrix `w`, or `None` when this CPU cannot run the kernel.
    pub(crate) fn new(w: &[f32], n: usize, k: usize) -> Option<Self> {
        if !supported() || w.len() != n * k || n == 0 || k == 0 {
            return None;
        }
        let panels = n.div_ceil(NR);
        let mut data = vec![0f32; panels * k * NR];
        for (col, row) in w.chunks_exact(k).enumerate() {
            let (panel, lane) = (col / NR, col % NR);
            let base = panel * k * NR + lane;
            for (i, &v) in row.iter().enumerate() {
                data[base + i * NR] = v;
            }
        }
        Some(Self {
            data,
            n,
            k,
            wide: wide(),
        })
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

    fn panel(&self, p: usize) -> &[f32] {
        &self.data[p * self.k * NR..(p + 1) * self.k * NR]
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

/// Whether this CPU runs the AVX-512 micro-kernel.
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
        Part {
            x,
            w,
            bias,
            out: &out,
            rows: rows(r)..rows(r + 1),
            panels: panel(p)..panel(p + 1),
        }
        .run();
    };
    if row_parts * panel_parts == 1 {
        part(0);
    } else {
        (0..row_parts * panel_parts).into_par_iter().for_each(part);
    }
    // SAFETY: the parts above have written all m × n elements (every row range × every panel
    // range, first depth block) and have finished.
    unsafe { y.set_len(m * n) };
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
    fn run(&self) {
        let (n, k) = (self.w.n, self.w.k);
        let mut packed_x = vec![0f32; MC.div_ceil(MR) * MR * KC];
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            for row0 in self.rows.clone().step_by(MC) {
                let rows = MC.min(self.rows.end - row0);
                pack_rows(self.x, k, row0, rows, k0, kc, &mut packed_x);
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
                    let slice = |p: usize| &self.w.panel(p)[k0 * NR..(k0 + kc) * NR];
                    let (panel, second) = (slice(p), (count == 2).then(|| slice(p + 1)));
                    p += count;
                    let tiles = packed_x.chunks_exact(kc * MR).take(rows.div_ceil(MR));
                    for (i, tile) in tiles.enumerate() {
                        Block {
                            x: tile,
                            panel,
                            second,
                            kc,
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

/// Copies rows `row0 .. row0 + rows`, columns `k0 .. k0 + kc` of `x` into tiles of [`MR`]
/// rows stored column by column (`MR` values per depth step), rows past the end as zeros.
fn pack_rows(x: &[f32], k: usize, row0: usize, rows: usize, k0: usize, kc: usize, out: &mut [f32]) {
    for (i, tile) in out
        .chunks_exact_mut(kc * MR)
        .take(rows.div_ceil(MR))
        .enumerate()
    {
        for r in 0..MR {
            let row = i * MR + r;
            if row < rows {
                let src = &x[(row0 + row) * k + k0..][..kc];
                for (d, &v) in src.iter().enumerate() {
                    tile[d * MR + r] = v;
                }
            } else {
                for d in 0..kc {
                    tile[d * MR + r] = 0.0;
                }
            }
        }
    }
}

/// Calls `step(p)` for every depth `p < kc`, four per loop turn so the tile's loop body is
/// unrolled.
#[inline(always)]
fn depth_steps(kc: usize, mut step: impl FnMut(usize)) {
    let unrolled = kc / 4 * 4;
    for p in (0..unrolled).step_by(4) {
        step(p);
        step(p + 1);
        step(p + 2);
        step(p + 3);
    }
    for p in unrolled..kc {
        step(p);
    }
}

/// The output pointer shared by the tasks of one [`matmul`].
struct SharedOut(*mut f32);
// SAFETY: each task writes only its own rows × the columns of its own panels (disjoint
// blocks of `y`), and `matmul` keeps the buffer alive and unaliased until every task has
// finished.
unsafe impl Sync for SharedOut {}

/// What a tile starts from.
#[derive(Clone, Copy)]
enum Start<'a> {
    /// The bias (zeros without one) of up to two panels: the first depth block.
    Bias(&'a [f32; 2 * NR]),
    /// What earlier depth blocks left in `y`.
    Output,
}

/// One tile of [`MR`] packed rows against one panel slice of depth `kc`.
struct Block<'a> {
    x: &'a [f32],
    panel: &'a [f32],
    /// The next panel, for the AVX-512 kernel.
    second: Option<&'a [f32]>,
    kc: usize,
    start: Start<'a>,
    out: &'a SharedOut,
    ldy: usize,
    row0: usize,
    rows: usize,
    col0: usize,
    cols: usize,
}

impl Block<'_> {
    fn run(&self) {
        assert!(self.x.len() >= self.kc * MR && self.panel.len() >= self.kc * NR);
        assert!(self.rows <= MR);
        match self.second {
            Some(second) => {
                assert!(second.len() >= self.kc * NR && self.cols <= 2 * NR);
                // SAFETY: as below; a second panel is only given when `wide()` held at
                // packing, and the assert bounds its reads.
                unsafe { self.micro_wide(second) }
            }
            None => {
                assert!(self.cols <= NR);
                // SAFETY: `supported()` held when the weights were packed (no
                // `PackedWeights` exists otherwise); the asserts above bound every read of
                // `x` and `panel`, and the writes go to rows `row0 .. row0 + rows` and
                // columns `col0 .. col0 + cols` of `y`, which are inside it and belong to this
                // task alone.
                unsafe { self.micro() }
            }
        }
    }

    /// The AVX-512 tile: [`MR`] rows against two panels (`2 × NR` columns).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn micro_wide(&self, second: &[f32]) {
        use std::arch::x86_64::*;

        let a = self.x.as_ptr();
        let b = [self.panel.as_ptr(), second.as_ptr()];
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        let step = |acc: &mut [[__m512; 2]; MR], p: usize| {
            // SAFETY: p < kc, so `b[v] + p*NR + NR` and `a + p*MR + MR` are inside the slices
            // (checked in `run`).
            unsafe {
                let bv = [
                    _mm512_loadu_ps(b[0].add(p * NR)),
                    _mm512_loadu_ps(b[1].add(p * NR)),
                ];
                for (i, row) in acc.iter_mut().enumerate() {
                    let ai = _mm512_set1_ps(*a.add(p * MR + i));
                    row[0] = _mm512_fmadd_ps(ai, bv[0], row[0]);
                    row[1] = _mm512_fmadd_ps(ai, bv[1], row[1]);
                }
            }
        };
        depth_steps(self.kc, |p| step(&mut acc, p));
        for (i, row) in acc.iter().enumerate().take(self.rows) {
            for (v, sum) in row.iter().enumerate() {
                let cols = self.cols.saturating_sub(v * NR).min(NR);
                if cols == 0 {
                    continue;
                }
                let mask: __mmask16 = ((1u32 << cols) - 1) as __mmask16;
                // SAFETY: see `run`: this row and the `cols` masked columns from
                // `col0 + v*NR` are inside `y` and this task's; the bias holds 2*NR floats.
                unsafe {
                    let dst = self
                        .out
                        .0
                        .add((self.row0 + i) * self.ldy + self.col0 + v * NR);
                    let base = match self.start {
                        Start::Bias(bias) => _mm512_loadu_ps(bias.as_ptr().add(v * NR)),
                        Start::Output => _mm512_maskz_loadu_ps(mask, dst),
                    };
                    _mm512_mask_storeu_ps(dst, mask, _mm512_add_ps(*sum, base));
                }
            }
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn micro_wide(&self, _second: &[f32]) {
        unreachable!("PackedWeights are never built off x86-64")
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn micro(&self) {
        use std::arch::x86_64::*;

        let a = self.x.as_ptr();
        let b = self.panel.as_ptr();
        let mut acc = [[_mm256_setzero_ps(); NV]; MR];
        let step = |acc: &mut [[__m256; NV]; MR], p: usize| {
            // SAFETY: p < kc, so `b + p*NR + NR` and `a + p*MR + MR` are inside the slices
            // (checked in `run`).
            unsafe {
                let mut bv = [_mm256_setzero_ps(); NV];
                for (v, reg) in bv.iter_mut().enumerate() {
                    *reg = _mm256_loadu_ps(b.add(p * NR + v * 8));
                }
                for (i, row) in acc.iter_mut().enumerate() {
                    let ai = _mm256_broadcast_ss(&*a.add(p * MR + i));
                    for (acc, b) in row.iter_mut().zip(&bv) {
                        *acc = _mm256_fmadd_ps(ai, *b, *acc);
                    }
                }
            }
        };
        depth_steps(self.kc, |p| step(&mut acc, p));
        for (i, row) in acc.iter().enumerate().take(self.rows) {
            let offset = (self.row0 + i) * self.ldy + self.col0;
            let mut tile = [0f32; NR];
            // SAFETY: see `run`: this row and these columns are inside `y` and this task's;
            // `tile` and the bias hold NR floats.
            unsafe {
                let dst = self.out.0.add(offset);
                let base = match self.start {
                    Start::Bias(bias) => bias.as_ptr(),
                    Start::Output => {
                        std::ptr::copy_nonoverlapping(dst, tile.as_mut_ptr(), self.cols);
                        tile.as_ptr()
                    }
                };
                let mut sums = [_mm256_setzero_ps(); NV];
                for (v, sum) in sums.iter_mut().enumerate() {
                    *sum = _mm256_add_ps(row[v], _mm256_loadu_ps(base.add(v * 8)));
                }
                for (v, sum) in sums.iter().enumerate() {
                    _mm256_storeu_ps(tile.as_mut_ptr().add(v * 8), *sum);
                }
                std::ptr::copy_nonoverlapping(tile.as_ptr(), dst, self.cols);
            }
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn micro(&self) {
        unreachable!("PackedWeights are never built off x86-64")
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
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-4 * k as f32, "{m}×{n}×{k}: max abs diff {worst}");
                let unbiased = matmul(&x, m, weights, None);
                let shifted = unbiased.iter().enumerate().map(|(i, v)| v + bias[i % n]);
                assert!(shifted.zip(&got).all(|(a, b)| (a - b).abs() < 1e-5));
            }
        }
    }

    #[test]
    fn refuses_mismatched_shapes() {
        assert!(PackedWeights::new(&[0.0; 6], 4, 2).is_none());
        assert!(PackedWeights::new(&[], 0, 0).is_none());
    }
}
