//! Cosine distance between unit vectors, safe against rounding.
//!
//! hnsw_rs's own `DistDot` asserts `dot ≤ 1.000002`, which a near-duplicate photo pair can
//! break by rounding and which would panic a search. This one clamps instead.

use hnsw_rs::prelude::Distance;

pub(crate) use crate::simd::dot;

/// `1 − a·b`, clamped to `[0, 2]`: the HNSW distance for unit-length vectors.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UnitDot;

impl Distance<f32> for UnitDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).clamp(0.0, 2.0)
    }
}

/// The Euclidean norm.
pub(crate) fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

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
