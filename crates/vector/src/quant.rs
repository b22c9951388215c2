//! Int8 codes: what the graph is built and walked on.
//!
//! Each unit vector is scaled so its largest component is ±127 and rounded. The graph only
//! ranks neighbours, and a search rescores its candidates with the exact f32 vectors, so the
//! codes cost no recall (benchmark: `crates/vector/benches/vector.rs`) while holding a quarter
//! of the bytes and making each distance cheaper.

use crate::simd::dot_i8;

/// The int8 code of `vector`, appended to `out`.
pub(crate) fn encode(vector: &[f32], out: &mut Vec<i8>) {
    let max = vector.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { 127.0 / max } else { 0.0 };
    #[allow(
        clippy::cast_possible_truncation,
        reason = "rounded values lie in [-127, 127] by construction"
    )]
    out.extend(
        vector
            .iter()
            .map(|x| (x * scale).round().clamp(-127.0, 127.0) as i8),
    );
}

/// `1 − cos(a, b)` of two codes, in `[0, 2]`; 1 when either is all zeros.
pub(crate) fn distance(a: &[i8], b: &[i8]) -> f32 {
    let [ab, aa, bb] = dot_i8(a, b);
    if aa == 0 || bb == 0 {
        return 1.0;
    }
    let cos = ab as f32 / ((aa as f32) * (bb as f32)).sqrt();
    (1.0 - cos).clamp(0.0, 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::dot;

    #[test]
    fn code_cosine_tracks_the_f32_cosine() {
        let unit = |seed: f32| {
            let v: Vec<f32> = (0..512).map(|i| (i as f32 * seed).sin()).collect();
            let n = dot(&v, &v).sqrt();
            v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        for (s, t) in [(0.37, 0.41), (0.11, 0.13), (0.5, 0.5), (0.9, 2.3)] {
            let (a, b) = (unit(s), unit(t));
            let (mut ca, mut cb) = (Vec::new(), Vec::new());
            encode(&a, &mut ca);
            encode(&b, &mut cb);
            let exact = 1.0 - dot(&a, &b);
            let coded = distance(&ca, &cb);
            assert!((exact - coded).abs() < 0.01, "{exact} vs {coded}");
        }
    }

    #[test]
    fn zero_and_identical_vectors_are_safe() {
        let mut zero = Vec::new();
        encode(&[0.0; 8], &mut zero);
        assert_eq!(zero, vec![0i8; 8]);
        assert_eq!(distance(&zero, &zero), 1.0);
        let mut same = Vec::new();
        encode(&[0.6, -0.8], &mut same);
        assert_eq!(same, vec![95, -127]);
        assert_eq!(distance(&same, &same), 0.0);
    }
}
