//! Packing for the micro-kernels: `W` into column panels once at load time, rows of `x` into
//! tiles on every call; in f32, or as bf16 pairs for the AVX-512 BF16 kernel.
//!
//! A bf16 element packs two consecutive depths (`2q` in the low half, `2q + 1` in the high
//! half) of one row or column into a `u32`, the operand layout of `vdpbf16ps`, which adds
//! both products into one f32 lane. An odd depth pads with a zero.

use super::{MR, NR};

/// `W`'s panels, in the precision the kernel multiplies in.
#[derive(Debug, Clone)]
pub(super) enum Panels {
    F32(Vec<f32>),
    Bf16(Vec<u32>),
}

impl Panels {
    /// Packs the row-major `n × k` matrix `w` into panels of [`NR`] columns, `depth` packed
    /// elements deep each, the last panel padded with zeros (and, for bf16, with a zero panel
    /// so the panels come in pairs).
    pub(super) fn new(w: &[f32], n: usize, k: usize, bf16: bool) -> Self {
        let panels = n.div_ceil(NR);
        if !bf16 {
            let mut data = vec![0f32; panels * k * NR];
            for (col, row) in w.chunks_exact(k).enumerate() {
                let base = (col / NR) * k * NR + col % NR;
                for (i, &v) in row.iter().enumerate() {
                    data[base + i * NR] = v;
                }
            }
            return Self::F32(data);
        }
        let depth = k.div_ceil(2);
        let mut data = vec![0u32; panels * depth * NR];
        for (col, row) in w.chunks_exact(k).enumerate() {
            let base = (col / NR) * depth * NR + col % NR;
            for (q, pair) in row.chunks(2).enumerate() {
                data[base + q * NR] = bf16_pair(pair);
            }
        }
        Self::Bf16(data)
    }

    /// The row-major `n × k` matrix back (bf16 panels give their rounded values).
    pub(super) fn unpack(&self, n: usize, k: usize) -> Vec<f32> {
        let mut w = vec![0f32; n * k];
        for (col, row) in w.chunks_exact_mut(k).enumerate() {
            match self {
                Self::F32(data) => {
                    let base = (col / NR) * k * NR + col % NR;
                    for (i, v) in row.iter_mut().enumerate() {
                        *v = data[base + i * NR];
                    }
                }
                Self::Bf16(data) => {
                    let base = (col / NR) * k.div_ceil(2) * NR + col % NR;
                    for (i, v) in row.iter_mut().enumerate() {
                        let pair = data[base + (i / 2) * NR];
                        *v = f32::from_bits(((pair >> (16 * (i % 2))) & 0xffff) << 16);
                    }
                }
            }
        }
        w
    }
}

/// The packed element of each precision: how many inputs it holds and how a tile of rows is
/// packed.
pub(super) trait Element: Copy + Default {
    /// Inputs per element along the depth.
    const PER: usize;

    /// Copies rows `row0 .. row0 + rows`, columns `k0 .. k0 + kc` of `x` (`k` wide) into
    /// tiles of [`MR`] rows stored depth by depth (`MR` elements per packed depth), rows past
    /// the end as zeros.
    fn pack_rows(
        x: &[f32],
        k: usize,
        row0: usize,
        rows: usize,
        k0: usize,
        kc: usize,
        out: &mut [Self],
    );
}

impl Element for f32 {
    const PER: usize = 1;

    fn pack_rows(
        x: &[f32],
        k: usize,
        row0: usize,
        rows: usize,
        k0: usize,
        kc: usize,
        out: &mut [Self],
    ) {
        pack_tiles(x, k, row0, rows, k0, kc, out, |src, d| src[d]);
    }
}

impl Element for u32 {
    const PER: usize = 2;

    fn pack_rows(
        x: &[f32],
        k: usize,
        row0: usize,
        rows: usize,
        k0: usize,
        kc: usize,
        out: &mut [Self],
    ) {
        pack_tiles(x, k, row0, rows, k0, kc, out, |src, q| {
            bf16_pair(&src[2 * q..(2 * q + 2).min(src.len())])
        });
    }
}

/// The shared tile walk of [`Element::pack_rows`]: `at(row, d)` is packed depth `d` of a row
/// slice.
#[allow(
    clippy::too_many_arguments,
    reason = "the block's coordinates, as in BLIS"
)]
fn pack_tiles<T: Element>(
    x: &[f32],
    k: usize,
    row0: usize,
    rows: usize,
    k0: usize,
    kc: usize,
    out: &mut [T],
    at: impl Fn(&[f32], usize) -> T,
) {
    let depth = kc.div_ceil(T::PER);
    for (i, tile) in out
        .chunks_exact_mut(depth * MR)
        .take(rows.div_ceil(MR))
        .enumerate()
    {
        for r in 0..MR {
            let row = i * MR + r;
            if row < rows {
                let src = &x[(row0 + row) * k + k0..][..kc];
                for d in 0..depth {
                    tile[d * MR + r] = at(src, d);
                }
            } else {
                for d in 0..depth {
                    tile[d * MR + r] = T::default();
                }
            }
        }
    }
}

/// Up to two values as a bf16 pair, the first in the low half; a missing second is zero.
fn bf16_pair(pair: &[f32]) -> u32 {
    let lo = pair.first().map_or(0, |&v| bf16_bits(v));
    let hi = pair.get(1).map_or(0, |&v| bf16_bits(v));
    lo | (hi << 16)
}

/// `v` rounded to the nearest bf16 (ties to even), as its 16 bits; NaN stays NaN.
pub(super) fn bf16_bits(v: f32) -> u32 {
    let bits = v.to_bits();
    if v.is_nan() {
        return (bits >> 16) | 0x40;
    }
    (bits + 0x7fff + ((bits >> 16) & 1)) >> 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(bf16_bits(1.0), 0x3f80);
        assert_eq!(bf16_bits(-2.0), 0xc000);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
        assert_eq!(bf16_bits(1.0 + 2f32.powi(-8)), 0x3f80);
        assert_eq!(bf16_bits(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        assert!(f32::from_bits(bf16_bits(f32::NAN) << 16).is_nan());
        assert_eq!(bf16_pair(&[1.0]), 0x3f80);
        assert_eq!(bf16_pair(&[1.0, -2.0]), 0xc000_3f80);
    }
}
