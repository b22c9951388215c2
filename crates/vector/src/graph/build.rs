//! Building the graph: HNSW insertion (Malkov & Yashunin, arXiv:1603.09320, algorithms 1–4)
//! straight into the flat rows — one node at a time, or a large batch on every core.
//!
//! Each new node draws its level from the usual `⌊−ln(U) / ln M⌋` distribution, with `U` a
//! hash of its slot (so the same slots always get the same levels, and a build on one thread
//! is reproducible); walks down greedily to its level; on each of its layers, searches with
//! `ef_construction` candidates and keeps `M` of them by the neighbour-selection heuristic as
//! its row; and only then links back from those neighbours, pruning a neighbour's list with the
//! same heuristic when it overflows `M` (`2M` on layer 0). Until those links no other thread can
//! reach the node, so none walks into a row of it still empty. A thread writes a node's row
//! only while holding that node's lock (one of [`STRIPES`]); a new entry point is linked while
//! holding the entry lock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::visited::Visited;
use super::{Dist, FlatGraph, MAX_LEVEL};

/// The distance between two slots' vectors.
pub(crate) type Distance<'a> = &'a (dyn Fn(u32, u32) -> f32 + Sync);

/// Seed of the level draw.
const SEED: u64 = 0x5eed_0f5b_0eb0_c5d1;
/// Batches this large are built on every core, once the graph has this many nodes.
const PARALLEL_FROM: usize = 512;
/// Node locks, shared by slot number modulo this.
const STRIPES: usize = 1024;

/// The level of the node at `slot` in a graph with `M = m`.
pub(crate) fn level_of(slot: u32, m: usize) -> u8 {
    // SplitMix64 of the slot: uniform bits from consecutive numbers.
    let mut z = SEED.wrapping_add(u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // U in (0, 1].
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let level = -u.ln() / (m.max(2) as f64).ln();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative value clamped to MAX_LEVEL"
    )]
    let level = level.floor().min(f64::from(MAX_LEVEL)) as u8;
    level
}

impl FlatGraph {
    /// Adds slots `len()..slots` to the graph; `distance` compares any two slots.
    pub(crate) fn insert(&mut self, slots: usize, ef_construction: usize, distance: Distance<'_>) {
        let first = self.len();
        if slots <= first {
            return;
        }
        self.grow(slots);
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        // The first nodes of a graph go in one by one: a parallel start links them poorly.
        let serial_until = if threads > 1 && slots - first >= PARALLEL_FROM {
            first.max(PARALLEL_FROM).min(slots)
        } else {
            slots
        };
        let builder = Builder {
            graph: self,
            distance,
            ef: ef_construction.max(1),
            locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            entry_lock: Mutex::new(()),
        };
        let mut visited = Visited::default();
        for slot in first..serial_until {
            builder.insert(slot_u32(slot), &mut visited);
        }
        if serial_until < slots {
            let next = AtomicUsize::new(serial_until);
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        let mut visited = Visited::default();
                        loop {
                            let slot = next.fetch_add(1, Ordering::Relaxed);
                            if slot >= slots {
                                break;
                            }
                            builder.insert(slot_u32(slot), &mut visited);
                        }
                    });
                }
            });
        }
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "VectorIndex keeps slots below u32::MAX"
)]
fn slot_u32(slot: usize) -> u32 {
    slot as u32
}

/// What the threads inserting one batch share.
struct Builder<'a> {
    graph: &'a FlatGraph,
    distance: Distance<'a>,
    ef: usize,
    locks: Vec<Mutex<()>>,
    entry_lock: Mutex<()>,
}

fn lock(mutex: &Mutex<()>) -> MutexGuard<'_, ()> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn by_distance(a: &(f32, u32), b: &(f32, u32)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

impl Builder<'_> {
    fn insert(&self, q: u32, visited: &mut Visited) {
        let graph = self.graph;
        let level = graph.level(q);
        let entry_lock = lock(&self.entry_lock);
        let Some((entry, top)) = graph.entry() else {
            graph.set_entry(Some((q, level)));
            return;
        };
        // A node that will be the new entry keeps the lock until it is linked.
        let new_entry = (level > top).then_some(entry_lock);
        let to_q = |x: u32| (self.distance)(q, x);
        let (mut here, mut here_dist) = (entry, to_q(entry));
        for layer in (level + 1..=top).rev() {
            (here, here_dist) = graph.greedy(here, here_dist, layer, &to_q);
        }
        // All of q's rows first, then the links back to it: until those, no other thread can
        // reach q, so none walks into a row of q that is still empty.
        let mut links = Vec::with_capacity(usize::from(level) + 1);
        for layer in (0..=level.min(top)).rev() {
            let found = self.search_layer(q, (here_dist, here), layer, visited);
            let chosen = self.select(&found, graph.m());
            let ids: Vec<u32> = chosen.iter().map(|&(_, id)| id).collect();
            {
                let _row = lock(self.lock_of(q));
                graph.set_neighbours(q, layer, &ids);
            }
            links.push((layer, chosen));
            if let Some(&(d, n)) = found.first() {
                (here_dist, here) = (d, n);
            }
        }
        for (layer, chosen) in links {
            for (d, n) in chosen {
                self.link(n, q, d, layer);
            }
        }
        if new_entry.is_some() {
            graph.set_entry(Some((q, level)));
        }
    }

    fn lock_of(&self, slot: u32) -> &Mutex<()> {
        &self.locks[slot as usize % STRIPES]
    }

    /// The `ef` nodes nearest `q` on `layer` reachable from `start`, nearest first.
    fn search_layer(
        &self,
        q: u32,
        start: (f32, u32),
        layer: u8,
        visited: &mut Visited,
    ) -> Vec<(f32, u32)> {
        let graph = self.graph;
        visited.clear(graph.len());
        visited.insert(q);
        visited.insert(start.1);
        let (d0, s0) = start;
        let mut candidates = BinaryHeap::from([Reverse((Dist(d0), s0))]);
        let mut nearest: BinaryHeap<(Dist, u32)> = BinaryHeap::from([(Dist(d0), s0)]);
        while let Some(Reverse((Dist(d), slot))) = candidates.pop() {
            if nearest.len() >= self.ef && nearest.peek().is_some_and(|(worst, _)| d > worst.0) {
                break;
            }
            for next in graph.neighbours(slot, layer) {
                if !visited.insert(next) {
                    continue;
                }
                let dn = (self.distance)(q, next);
                if nearest.len() < self.ef || nearest.peek().is_some_and(|(worst, _)| dn < worst.0)
                {
                    candidates.push(Reverse((Dist(dn), next)));
                    nearest.push((Dist(dn), next));
                    if nearest.len() > self.ef {
                        nearest.pop();
                    }
                }
            }
        }
        nearest
            .into_sorted_vec()
            .into_iter()
            .map(|(d, slot)| (d.0, slot))
            .collect()
    }

    /// The neighbour-selection heuristic: from `sorted` (nearest the base first) keeps up to
    /// `m`, skipping a candidate nearer to one already kept than to the base.
    fn select(&self, sorted: &[(f32, u32)], m: usize) -> Vec<(f32, u32)> {
        if sorted.len() <= m {
            return sorted.to_vec();
        }
        let mut kept: Vec<(f32, u32)> = Vec::with_capacity(m);
        for &(d, c) in sorted {
            if kept.len() == m {
                break;
            }
            if kept.iter().all(|&(_, r)| (self.distance)(c, r) >= d) {
                kept.push((d, c));
            }
        }
        kept
    }

    /// Adds `q` (at distance `d`) to `n`'s neighbours on `layer`, pruning them when full.
    fn link(&self, n: u32, q: u32, d: f32, layer: u8) {
        let graph = self.graph;
        let _row = lock(self.lock_of(n));
        let mut ids: Vec<u32> = graph.neighbours(n, layer).collect();
        if ids.contains(&q) {
            return;
        }
        if ids.len() < graph.capacity(layer) {
            ids.push(q);
        } else {
            let mut scored: Vec<(f32, u32)> =
                ids.iter().map(|&id| ((self.distance)(n, id), id)).collect();
            scored.push((d, q));
            scored.sort_by(by_distance);
            ids = self
                .select(&scored, graph.capacity(layer))
                .into_iter()
                .map(|(_, id)| id)
                .collect();
        }
        graph.set_neighbours(n, layer, &ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_one_over_ln_m() {
        let m = 16;
        let levels: Vec<u8> = (0..100_000).map(|s| level_of(s, m)).collect();
        let above0 = levels.iter().filter(|&&l| l > 0).count() as f64 / 1e5;
        let above1 = levels.iter().filter(|&&l| l > 1).count() as f64 / 1e5;
        // P(level ≥ l) = M^-l.
        assert!((above0 - 1.0 / 16.0).abs() < 0.005, "{above0}");
        assert!((above1 - 1.0 / 256.0).abs() < 0.001, "{above1}");
        assert_eq!(level_of(7, m), level_of(7, m));
    }

    /// Random points in 8-d, Euclidean: a graph built in one batch or two (the second on
    /// every core from its start) finds each point itself and most true nearest neighbours.
    #[test]
    fn random_points_are_found_serial_and_parallel() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        for n in [1usize, 2, 50, 3_000] {
            let points: Vec<[f32; 8]> = (0..n).map(|_| std::array::from_fn(|_| next())).collect();
            let between = |a: &[f32; 8], b: &[f32; 8]| -> f32 {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f32>()
                    .sqrt()
            };
            let distance = |a: u32, b: u32| between(&points[a as usize], &points[b as usize]);
            for batches in [1, 2] {
                let mut graph = FlatGraph::new(8);
                if batches == 2 {
                    graph.insert(n / 2, 64, &distance);
                }
                graph.insert(n, 64, &distance);
                assert_eq!(graph.len(), n);
                let (mut itself, mut found, mut wanted) = (0, 0, 0);
                for target in (0..n).step_by(n.div_ceil(100)) {
                    let to = |s: u32| between(&points[s as usize], &points[target]);
                    let hits = graph.search(10, 64, to, |_| true);
                    itself += usize::from(hits.first().is_some_and(|h| h.0 == 0.0));
                    let mut truth: Vec<(f32, u32)> = (0..n as u32).map(|s| (to(s), s)).collect();
                    truth.sort_by(by_distance);
                    truth.truncate(10);
                    wanted += truth.len();
                    found += hits.iter().filter(|h| truth.contains(h)).count();
                }
                let queries = n.div_ceil(n.div_ceil(100));
                assert_eq!(itself, queries, "n {n}, {batches} batches");
                let recall = found as f64 / wanted as f64;
                assert!(recall >= 0.95, "n {n}, {batches} batches: recall {recall}");
            }
        }
    }
}
