//! The HNSW graph over the slab's slots: neighbour lists as plain slot numbers in flat arrays.
//!
//! This is the only copy of the graph: it is built here (`graph/build.rs`), searched here, and
//! dumped and reloaded by `persist`. Layer 0 is one array with a fixed-size row per slot (a
//! count, then up to `2M` neighbours); the few nodes above layer 0 have a row of up to `M`
//! neighbours per upper layer in a second array. Rows are atomics so that a batch can be built
//! by several threads at once, each node's row written under a lock; a search only loads them
//! (a plain load on x86-64 and ARM). One bit per slot records which rows changed since the
//! last save, so a save can append just those (`persist/log.rs`).

mod build;
mod visited;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering as Atomic};

pub(crate) use build::level_of;
use visited::Visited;

/// Highest layer a node may reach (a level of 16 needs about `M^16` nodes).
pub(crate) const MAX_LEVEL: u8 = 16;
/// `upper_at` of a node with no layer above 0.
const NO_UPPER: u32 = u32::MAX;
/// `entry` of an empty graph.
const NO_ENTRY: u64 = u64::MAX;

/// The layers of one HNSW graph, by slot.
#[derive(Debug)]
pub(crate) struct FlatGraph {
    /// Neighbours a node keeps on layers above 0 (HNSW `M`); layer 0 keeps `2M`.
    m: usize,
    /// The top layer of each slot.
    levels: Vec<u8>,
    /// Layer 0: a row of `1 + 2M` words per slot, the neighbour count then the neighbours.
    layer0: Vec<AtomicU32>,
    /// The row in `upper` of each slot's layer 1 (its layers 2.. follow), or [`NO_UPPER`].
    upper_at: Vec<u32>,
    /// Rows of `1 + M` words for layers 1..=level of the nodes above layer 0.
    upper: Vec<AtomicU32>,
    /// Where searches start: `slot << 8 | level`, or [`NO_ENTRY`].
    entry: AtomicU64,
    /// One bit per slot: its rows changed since [`Self::clear_changed`].
    changed: Vec<AtomicU64>,
}

/// A distance that sorts (total order; NaN never occurs for unit vectors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dist(pub(crate) f32);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Capacity to reserve before pushing `more` onto a vector of `len`: at least an eighth of
/// `len` extra, so growth stays amortised O(1) while spare capacity stays under 12.5 %.
pub(crate) fn reserve_for<T>(vec: &mut Vec<T>, more: usize) {
    if vec.capacity() - vec.len() < more {
        vec.reserve_exact(more.max(vec.len() / 8));
    }
}

impl FlatGraph {
    /// An empty graph keeping `m` neighbours per node (`2m` on layer 0).
    pub(crate) fn new(m: usize) -> Self {
        Self {
            m: m.clamp(2, 1 << 12),
            levels: Vec::new(),
            layer0: Vec::new(),
            upper_at: Vec::new(),
            upper: Vec::new(),
            entry: AtomicU64::new(NO_ENTRY),
            changed: Vec::new(),
        }
    }

    /// HNSW `M`.
    pub(crate) fn m(&self) -> usize {
        self.m
    }

    /// Number of slots (nodes).
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Most neighbours a node keeps on `layer`.
    pub(crate) fn capacity(&self, layer: u8) -> usize {
        if layer == 0 { 2 * self.m } else { self.m }
    }

    /// The entry point and its level, `None` while the graph is empty.
    pub(crate) fn entry(&self) -> Option<(u32, u8)> {
        match self.entry.load(Atomic::Acquire) {
            NO_ENTRY => None,
            #[allow(
                clippy::cast_possible_truncation,
                reason = "packed by set_entry from a u32 and a u8"
            )]
            packed => Some(((packed >> 8) as u32, (packed & 0xff) as u8)),
        }
    }

    pub(crate) fn set_entry(&self, entry: Option<(u32, u8)>) {
        let packed = entry.map_or(NO_ENTRY, |(slot, level)| {
            u64::from(slot) << 8 | u64::from(level)
        });
        self.entry.store(packed, Atomic::Release);
    }

    /// The top layer of `slot` (0 for a slot the graph does not hold).
    pub(crate) fn level(&self, slot: u32) -> u8 {
        self.levels.get(slot as usize).copied().unwrap_or(0)
    }

    /// The row of `slot` on `layer`: a count, then room for [`Self::capacity`] neighbours.
    fn row(&self, slot: u32, layer: u8) -> &[AtomicU32] {
        let s = slot as usize;
        let (rows, index, width) = if layer == 0 {
            (&self.layer0, s, 1 + 2 * self.m)
        } else {
            match self.upper_at.get(s) {
                Some(&at) if at != NO_UPPER && layer <= self.level(slot) => (
                    &self.upper,
                    at as usize + usize::from(layer) - 1,
                    1 + self.m,
                ),
                _ => return &[],
            }
        };
        rows.get(index * width..(index + 1) * width).unwrap_or(&[])
    }

    /// The neighbours of `slot` on `layer`, each below [`Self::len`].
    ///
    /// While another thread rewrites the row this may see part old, part new neighbours:
    /// every one of them is a real node, which is all a walk needs.
    pub(crate) fn neighbours(&self, slot: u32, layer: u8) -> impl Iterator<Item = u32> + '_ {
        let row = self.row(slot, layer);
        let (count, ids) = row.split_first().map_or((0, &[][..]), |(c, ids)| {
            (c.load(Atomic::Acquire) as usize, ids)
        });
        let len = self.len();
        ids[..count.min(ids.len())]
            .iter()
            .map(|id| id.load(Atomic::Relaxed))
            .filter(move |&id| (id as usize) < len)
    }

    /// Replaces the neighbours of `slot` on `layer` (at most [`Self::capacity`] are kept) and
    /// marks the slot changed. Callers serialise writers of one slot.
    pub(crate) fn set_neighbours(&self, slot: u32, layer: u8, ids: &[u32]) {
        let row = self.row(slot, layer);
        let Some((count, room)) = row.split_first() else {
            return;
        };
        let n = ids.len().min(room.len());
        for (cell, id) in room.iter().zip(&ids[..n]) {
            cell.store(*id, Atomic::Relaxed);
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "n ≤ 2M, which new() bounds"
        )]
        count.store(n as u32, Atomic::Release);
        self.mark_changed(slot);
    }

    fn mark_changed(&self, slot: u32) {
        if let Some(word) = self.changed.get(slot as usize / 64) {
            word.fetch_or(1 << (slot % 64), Atomic::Relaxed);
        }
    }

    /// The slots whose rows changed (or that were added) since [`Self::clear_changed`].
    pub(crate) fn changed(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (w, word) in self.changed.iter().enumerate() {
            let mut bits = word.load(Atomic::Relaxed);
            while bits != 0 {
                let bit = bits.trailing_zeros();
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "slots are u32 (grow checks)"
                )]
                out.push((w * 64) as u32 + bit);
                bits &= bits - 1;
            }
        }
        out
    }

    pub(crate) fn clear_changed(&self) {
        for word in &self.changed {
            word.store(0, Atomic::Relaxed);
        }
    }

    /// Adds empty nodes for slots `len()..slots`, each at the level [`level_of`] draws for it.
    pub(crate) fn grow(&mut self, slots: usize) {
        for slot in self.len()..slots {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "VectorIndex keeps slots below u32::MAX"
            )]
            self.push_node(level_of(slot as u32, self.m));
        }
    }

    /// Appends a node with no neighbours at `level` (clamped to [`MAX_LEVEL`]).
    fn push_node(&mut self, level: u8) {
        let level = level.min(MAX_LEVEL);
        let slot = self.len();
        let (w0, w) = (1 + 2 * self.m, 1 + self.m);
        reserve_for(&mut self.levels, 1);
        reserve_for(&mut self.layer0, w0);
        reserve_for(&mut self.upper_at, 1);
        self.levels.push(level);
        self.layer0.extend((0..w0).map(|_| AtomicU32::new(0)));
        if level == 0 {
            self.upper_at.push(NO_UPPER);
        } else {
            let at = u32::try_from(self.upper.len() / w).unwrap_or(NO_UPPER);
            self.upper_at.push(at);
            let words = usize::from(level) * w;
            reserve_for(&mut self.upper, words);
            self.upper.extend((0..words).map(|_| AtomicU32::new(0)));
        }
        if self.changed.len() * 64 <= slot {
            reserve_for(&mut self.changed, 1);
            self.changed.push(AtomicU64::new(0));
        }
        #[allow(clippy::cast_possible_truncation, reason = "slots are u32")]
        self.mark_changed(slot as u32);
    }

    /// An empty-rowed graph with these node levels (slot order), for a loader to fill with
    /// [`Self::set_node`]; `None` when a level is above [`MAX_LEVEL`] or `m` is out of range.
    pub(crate) fn with_levels(m: usize, levels: &[u8]) -> Option<Self> {
        let mut graph = Self::new(m);
        if graph.m != m || levels.iter().any(|&l| l > MAX_LEVEL) {
            return None;
        }
        let upper_rows: usize = levels.iter().map(|&l| usize::from(l)).sum();
        graph.levels.reserve_exact(levels.len());
        graph.upper_at.reserve_exact(levels.len());
        graph.layer0.reserve_exact(levels.len() * (1 + 2 * m));
        graph.upper.reserve_exact(upper_rows * (1 + m));
        graph.changed.reserve_exact(levels.len().div_ceil(64));
        for &level in levels {
            graph.push_node(level);
        }
        graph.clear_changed();
        Some(graph)
    }

    /// Sets the entry point after checking it is a node at its level; false (nothing set)
    /// when it is not.
    pub(crate) fn set_entry_checked(&self, entry: Option<(u32, u8)>) -> bool {
        let valid = match entry {
            Some((slot, level)) => (slot as usize) < self.len() && self.level(slot) == level,
            None => self.len() == 0,
        };
        if valid {
            self.set_entry(entry);
        }
        valid
    }

    /// Whether `ids` can be a row on `layer`: few enough, each a node of the graph.
    pub(crate) fn fits(&self, layer: u8, ids: &[u32]) -> bool {
        ids.len() <= self.capacity(layer) && ids.iter().all(|&id| (id as usize) < self.len())
    }

    /// Gives spare capacity back.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.levels.shrink_to_fit();
        self.layer0.shrink_to_fit();
        self.upper_at.shrink_to_fit();
        self.upper.shrink_to_fit();
        self.changed.shrink_to_fit();
    }

    /// Bytes allocated for the graph (capacity, not length).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.levels.capacity()
            + 4 * (self.layer0.capacity() + self.upper_at.capacity() + self.upper.capacity())
            + 8 * self.changed.capacity()
    }

    /// The `k` nearest slots that `keep` accepts, nearest first, walking with a candidate
    /// list of `ef`. `distance(slot)` is the slot's distance to the query.
    pub(crate) fn search(
        &self,
        k: usize,
        ef: usize,
        distance: impl Fn(u32) -> f32,
        keep: impl Fn(u32) -> bool,
    ) -> Vec<(f32, u32)> {
        let Some((entry, top)) = self.entry() else {
            return Vec::new();
        };
        if k == 0 {
            return Vec::new();
        }
        let (mut here, mut here_dist) = (entry, distance(entry));
        for layer in (1..=top).rev() {
            (here, here_dist) = self.greedy(here, here_dist, layer, &distance);
        }
        // Beam search on layer 0; every node is walked through, only kept ones are results.
        let ef = ef.max(k);
        let mut visited = Visited::new(self.len());
        visited.insert(here);
        // `nearest` bounds the walk (as without a filter); `results` keeps what `keep` accepts.
        let mut candidates = BinaryHeap::from([Reverse((Dist(here_dist), here))]);
        let mut nearest: BinaryHeap<(Dist, u32)> = BinaryHeap::from([(Dist(here_dist), here)]);
        let mut results: BinaryHeap<(Dist, u32)> = BinaryHeap::with_capacity(k + 1);
        let offer = |results: &mut BinaryHeap<(Dist, u32)>, d: f32, slot: u32| {
            if keep(slot) {
                results.push((Dist(d), slot));
                if results.len() > k {
                    results.pop();
                }
            }
        };
        offer(&mut results, here_dist, here);
        while let Some(Reverse((Dist(d), slot))) = candidates.pop() {
            if nearest.len() >= ef && nearest.peek().is_some_and(|(worst, _)| d > worst.0) {
                break;
            }
            for next in self.neighbours(slot, 0) {
                if !visited.insert(next) {
                    continue;
                }
                let dn = distance(next);
                if nearest.len() < ef || nearest.peek().is_some_and(|(worst, _)| dn < worst.0) {
                    candidates.push(Reverse((Dist(dn), next)));
                    nearest.push((Dist(dn), next));
                    if nearest.len() > ef {
                        nearest.pop();
                    }
                    offer(&mut results, dn, next);
                }
            }
        }
        let mut out: Vec<(f32, u32)> = results.into_iter().map(|(d, s)| (d.0, s)).collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out
    }

    /// Greedy descent on one layer: moves to a nearer neighbour while there is one.
    fn greedy(
        &self,
        mut here: u32,
        mut here_dist: f32,
        layer: u8,
        distance: &impl Fn(u32) -> f32,
    ) -> (u32, f32) {
        loop {
            let mut moved = false;
            for next in self.neighbours(here, layer) {
                let d = distance(next);
                if d < here_dist {
                    (here, here_dist) = (next, d);
                    moved = true;
                }
            }
            if !moved {
                return (here, here_dist);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hold_what_was_set_and_mark_the_slot_changed() {
        let mut graph = FlatGraph::new(2);
        graph.grow(3);
        assert_eq!(graph.changed(), vec![0, 1, 2]);
        graph.clear_changed();
        graph.set_neighbours(1, 0, &[0, 2, 2, 0, 1]);
        // Layer 0 keeps 2M = 4.
        assert_eq!(graph.neighbours(1, 0).collect::<Vec<_>>(), vec![0, 2, 2, 0]);
        assert_eq!(graph.changed(), vec![1]);
        // A slot with no upper layer has no row there.
        let level = graph.level(1);
        assert!(graph.neighbours(1, level + 1).next().is_none());
        assert!(graph.neighbours(9, 0).next().is_none());
    }

    #[test]
    fn a_graph_with_given_levels_takes_rows_and_a_checked_entry() {
        let mut graph = FlatGraph::new(4);
        graph.grow(40);
        let levels: Vec<u8> = (0..40).map(|s| graph.level(s)).collect();
        assert!(levels.iter().any(|&l| l > 0), "{levels:?}");
        let again = FlatGraph::with_levels(4, &levels).expect("valid");
        assert!(again.changed().is_empty());
        assert_eq!((0..40).map(|s| again.level(s)).collect::<Vec<_>>(), levels);
        let top = (0..40u32).max_by_key(|&s| levels[s as usize]).unwrap_or(0);
        assert!(again.fits(levels[top as usize], &[0, 39]));
        again.set_neighbours(top, levels[top as usize], &[0, 39]);
        assert_eq!(
            again
                .neighbours(top, levels[top as usize])
                .collect::<Vec<_>>(),
            vec![0, 39]
        );
        assert!(!again.fits(0, &[40]));
        assert!(!again.fits(1, &[1, 2, 3, 4, 5]));
        assert!(again.set_entry_checked(Some((top, levels[top as usize]))));
        assert!(!again.set_entry_checked(Some((40, 0))));
        assert!(!again.set_entry_checked(None));
        assert!(FlatGraph::with_levels(4, &[MAX_LEVEL + 1]).is_none());
    }
}
