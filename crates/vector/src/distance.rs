//! Cosine distance between unit vectors, safe against rounding.
//!
//! hnsw_rs's own `DistDot` asserts `dot ≤ 1.000002`, which a near-duplicate photo pair can
//! break by rounding and which would panic a search. This one clamps instead.

use hnsw_rs::prelude::Distance;

/// `1 − a·b`, clamped to `[0, 2]`: the HNSW distance for unit-length vectors.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UnitDot;

impl Distance<f32> for UnitDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).clamp(0.0, 2.0)
    }
}

/// Dot product with eight independent accumulators, so the compiler vectorises it.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let (a_chunks, a_rest) = a.as_chunks::<LANES>();
    let (b_chunks, b_rest) = b.as_chunks::<LANES>();
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for lane in 0..LANES {
            acc[lane] += x[lane] * y[lane];
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// The Euclidean norm.
pub(crate) fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum_at_every_length() {
        for len in 0..40 {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-5, "len {len}");
        }
    }

    #[test]
    fn identical_vectors_rounding_above_one_give_zero_not_a_panic() {
        let units = (1..2000).map(|t| {
            let v = [1.0f32, t as f32 * 0.013, 0.5];
            let n = norm(&v);
            v.map(|x| x / n)
        });
        let mut above_one = 0;
        for v in units {
            let distance = UnitDot.eval(&v, &v);
            assert!((0.0..1e-6).contains(&distance), "{distance}");
            if dot(&v, &v) > 1.0 {
                above_one += 1;
                assert_eq!(distance, 0.0);
            }
        }
        assert!(
            above_one > 0,
            "no vector rounded above 1: the case is not exercised"
        );
    }
}
