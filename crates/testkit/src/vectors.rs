//! CLIP-like unit vectors for index tests and benchmarks.
//!
//! Uniformly random vectors are a worst case for HNSW that real embeddings never are: CLIP
//! embeddings of photos sit in a narrow cone and cluster by subject. [`ClipLike`] draws them
//! that way — a shared direction, cluster centres around it, points around the centres — from
//! a seeded generator, so every run sees the same data.

/// A seeded source of clustered unit vectors.
#[derive(Debug, Clone)]
pub struct ClipLike {
    dim: usize,
    centres: Vec<Vec<f32>>,
}

impl ClipLike {
    /// `clusters` centres in `dim` dimensions, drawn from `seed`.
    pub fn new(dim: usize, clusters: usize, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let shared = rng.unit(dim);
        let centres = (0..clusters)
            .map(|_| {
                let own = rng.unit(dim);
                normalised(shared.iter().zip(&own).map(|(s, o)| 0.6 * s + o).collect())
            })
            .collect();
        Self { dim, centres }
    }

    /// `n` unit vectors, each a random centre plus noise (cosine ≈ 0.75 to its centre).
    pub fn sample(&self, n: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
        let sigma = 0.9 / (self.dim as f32).sqrt();
        (0..n)
            .map(|_| {
                let centre = &self.centres[rng.below(self.centres.len())];
                normalised(centre.iter().map(|c| c + sigma * rng.normal()).collect())
            })
            .collect()
    }
}

/// Scales a vector to unit length.
pub fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// SplitMix64 with a Box–Muller normal: small, seeded, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f32 {
        ((self.next() >> 40) as f32 + 1.0) / (1u64 << 24) as f32
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }

    fn unit(&mut self, dim: usize) -> Vec<f32> {
        normalised((0..dim).map(|_| self.normal()).collect())
    }
}
