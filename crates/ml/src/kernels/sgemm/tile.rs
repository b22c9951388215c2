//! The micro-kernels: one tile of [`MR`] packed rows against one or two panel slices, its
//! accumulators in registers for the whole depth, added to the bias or to `y` at the end.
//!
//! - AVX2 + FMA, f32: `MR × NR` in 12 of the 16 `ymm` registers.
//! - AVX-512, f32: `MR × 2NR` in 12 of the 32 `zmm` registers, masked stores at the edges.
//! - AVX-512 BF16: the same tile; each `vdpbf16ps` adds two depths' products per lane.

#![allow(
    unsafe_code,
    reason = "SIMD intrinsics and a shared output pointer; see SAFETY notes"
)]

use super::{MR, NR, NV};

/// The output pointer shared by the tasks of one product.
pub(super) struct SharedOut(pub(super) *mut f32);
// SAFETY: each task writes only its own rows × the columns of its own panels (disjoint
// blocks of `y`), and the product keeps the buffer alive and unaliased until every task has
// finished.
unsafe impl Sync for SharedOut {}

/// What a tile starts from.
#[derive(Clone, Copy)]
pub(super) enum Start<'a> {
    /// The bias (zeros without one) of up to two panels: the first depth block.
    Bias(&'a [f32; 2 * NR]),
    /// What earlier depth blocks left in `y`.
    Output,
}

/// One tile of [`MR`] packed rows against one panel slice (two for the AVX-512 kernels),
/// `kc` packed elements deep.
pub(super) struct Block<'a, T> {
    pub(super) x: &'a [T],
    pub(super) panel: &'a [T],
    pub(super) second: Option<&'a [T]>,
    pub(super) kc: usize,
    pub(super) start: Start<'a>,
    pub(super) out: &'a SharedOut,
    pub(super) ldy: usize,
    pub(super) row0: usize,
    pub(super) rows: usize,
    pub(super) col0: usize,
    pub(super) cols: usize,
}

/// A tile the driver can run.
pub(super) trait Tile {
    /// Multiplies and writes the tile. The caller has checked the CPU's features when the
    /// weights were packed: AVX2 + FMA always, AVX-512F when a second panel is given,
    /// AVX-512 BF16 for bf16 elements.
    fn run(&self);
}

impl<T> Block<'_, T> {
    /// Bounds every read the kernels make and every write's extent.
    fn check(&self) {
        assert!(self.x.len() >= self.kc * MR && self.panel.len() >= self.kc * NR);
        assert!(self.rows <= MR);
        match self.second {
            Some(second) => assert!(second.len() >= self.kc * NR && self.cols <= 2 * NR),
            None => assert!(self.cols <= NR),
        }
    }
}

impl Tile for Block<'_, f32> {
    fn run(&self) {
        self.check();
        match self.second {
            // SAFETY: a second panel is only given when AVX-512F held at packing; `check`
            // bounds every read of `x` and the panels, and the writes go to rows `row0 ..
            // row0 + rows` and columns `col0 .. col0 + cols` of `y`, which are inside it and
            // belong to this task alone.
            Some(second) => unsafe { self.micro_wide(second) },
            // SAFETY: as above; AVX2 + FMA held when the weights were packed.
            None => unsafe { self.micro() },
        }
    }
}

impl Tile for Block<'_, u32> {
    fn run(&self) {
        self.check();
        // SAFETY: bf16 panels are only packed when AVX-512F and AVX-512 BF16 held; the rest
        // as for f32.
        unsafe {
            match self.second {
                Some(second) => self.micro_bf16([self.panel, second]),
                None => self.micro_bf16([self.panel]),
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

#[cfg(target_arch = "x86_64")]
impl<T> Block<'_, T> {
    /// Adds `acc` (rows × up to two panels) to the tile's start and stores it, masked to the
    /// tile's columns.
    #[target_feature(enable = "avx512f")]
    unsafe fn store_wide<const P: usize>(&self, acc: &[[std::arch::x86_64::__m512; P]; MR]) {
        use std::arch::x86_64::*;

        for (i, row) in acc.iter().enumerate().take(self.rows) {
            for (v, sum) in row.iter().enumerate() {
                let cols = self.cols.saturating_sub(v * NR).min(NR);
                if cols == 0 {
                    continue;
                }
                let mask: __mmask16 = ((1u32 << cols) - 1) as __mmask16;
                // SAFETY: see `Tile::run`: this row and the `cols` masked columns from
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

    /// The AVX-512 BF16 tile: [`MR`] rows of bf16 pairs against `P` panels of bf16 pairs.
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn micro_bf16<const P: usize>(&self, panels: [&[T]; P]) {
        use std::arch::x86_64::*;

        let a = self.x.as_ptr().cast::<i32>();
        let b = panels.map(|p| p.as_ptr().cast::<i32>());
        let mut acc = [[_mm512_setzero_ps(); P]; MR];
        let step = |acc: &mut [[__m512; P]; MR], q: usize| {
            // SAFETY: q < kc, so `b[v] + q*NR + NR` and `a + q*MR + MR` are inside the slices
            // (checked in `run`); the elements are u32 pairs, read as i32 bit patterns.
            unsafe {
                let bv: [__m512bh; P] =
                    std::array::from_fn(|v| _mm512_castsi512_pbh(b[v].add(q * NR)));
                for (i, row) in acc.iter_mut().enumerate() {
                    let ai = _mm512_set1_pbh_pair(*a.add(q * MR + i));
                    for (sum, bv) in row.iter_mut().zip(&bv) {
                        *sum = _mm512_dpbf16_ps(*sum, ai, *bv);
                    }
                }
            }
        };
        depth_steps(self.kc, |q| step(&mut acc, q));
        // SAFETY: see `Tile::run`.
        unsafe { self.store_wide(&acc) };
    }
}

/// Sixteen bf16 pairs loaded from `p`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn _mm512_castsi512_pbh(p: *const i32) -> std::arch::x86_64::__m512bh {
    use std::arch::x86_64::*;
    // SAFETY: the caller passes 16 readable i32; `__m512i` and `__m512bh` are both 512 bits.
    unsafe { std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(p.cast())) }
}

/// One bf16 pair broadcast to every lane.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
fn _mm512_set1_pbh_pair(pair: i32) -> std::arch::x86_64::__m512bh {
    use std::arch::x86_64::*;
    // SAFETY: `__m512i` and `__m512bh` are both 512 bits of plain data.
    unsafe { std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(pair)) }
}

#[cfg(not(target_arch = "x86_64"))]
impl<T> Block<'_, T> {
    unsafe fn micro_bf16<const P: usize>(&self, _panels: [&[T]; P]) {
        unreachable!("PackedWeights are never built off x86-64")
    }
}

impl Block<'_, f32> {
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
        // SAFETY: see `Tile::run`.
        unsafe { self.store_wide(&acc) };
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
