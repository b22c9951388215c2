//! The HNSW graph flattened for search: neighbour lists as plain slot numbers.
//!
//! hnsw_rs builds and persists the graph, but its search clones a reference-counted pointer
//! for every neighbour it looks at and takes a lock per node; on 100k photos that costs several
//! times the distance computations themselves. Once a batch of inserts is done, the layers are
//! copied here — layer 0 as one compressed adjacency array, the few nodes of the upper layers
//! in maps — and searched with a visited bitset and distances between the slab's codes.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use crate::index::Graph;

/// The layers of one HNSW graph, by slot.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlatGraph {
    entry: u32,
    /// Neighbours of slot `s` at layer 0: `links[offsets[s]..offsets[s + 1]]`.
    offsets: Vec<u32>,
    links: Vec<u32>,
    /// Layers 1.. (index 0 is layer 1): neighbours of the nodes present there.
    upper: Vec<HashMap<u32, Vec<u32>>>,
}

/// A distance that sorts (total order; NaN never occurs for unit vectors).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Dist(f32);

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

impl FlatGraph {
    /// Copies the layers of `graph`, whose points are numbered by slot `0..slots`.
    pub(crate) fn new(graph: &Graph, slots: usize) -> Self {
        // hnsw_rs's point iterator panics on an empty graph.
        if graph.get_nb_point() == 0 {
            return Self::default();
        }
        let mut layer0: Vec<Vec<u32>> = vec![Vec::new(); slots];
        let mut upper: Vec<HashMap<u32, Vec<u32>>> = Vec::new();
        let mut entry: Option<(usize, u32)> = None;
        for point in graph.get_point_indexation() {
            let Ok(slot) = u32::try_from(point.get_origin_id()) else {
                continue;
            };
            if point.get_origin_id() >= slots {
                continue;
            }
            let level = usize::from(point.get_point_id().0);
            if entry.is_none_or(|(top, _)| level > top) {
                entry = Some((level, slot));
            }
            for (layer, neighbours) in point.get_neighborhood_id().into_iter().enumerate() {
                let ids: Vec<u32> = neighbours
                    .iter()
                    .filter(|n| n.get_origin_id() < slots)
                    .filter_map(|n| u32::try_from(n.get_origin_id()).ok())
                    .collect();
                if layer == 0 {
                    layer0[slot as usize] = ids;
                } else if layer <= level {
                    if upper.len() < layer {
                        upper.resize_with(layer, HashMap::new);
                    }
                    upper[layer - 1].insert(slot, ids);
                }
            }
        }
        let mut offsets = Vec::with_capacity(slots + 1);
        let mut links = Vec::with_capacity(layer0.iter().map(Vec::len).sum());
        offsets.push(0);
        for ids in layer0 {
            links.extend(ids);
            offsets.push(u32::try_from(links.len()).unwrap_or(u32::MAX));
        }
        Self {
            entry: entry.map_or(0, |(_, slot)| slot),
            offsets,
            links,
            upper,
        }
    }

    /// Whether the graph has no node.
    pub(crate) fn is_empty(&self) -> bool {
        self.offsets.len() <= 1
    }

    fn layer0(&self, slot: u32) -> &[u32] {
        let s = slot as usize;
        match (self.offsets.get(s), self.offsets.get(s + 1)) {
            (Some(&a), Some(&b)) => &self.links[a as usize..b as usize],
            _ => &[],
        }
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
        if self.is_empty() || k == 0 {
            return Vec::new();
        }
        // Greedy descent through the upper layers.
        let mut here = self.entry;
        let mut here_dist = distance(here);
        for layer in self.upper.iter().rev() {
            loop {
                let mut moved = false;
                for &next in layer.get(&here).map_or(&[][..], Vec::as_slice) {
                    let d = distance(next);
                    if d < here_dist {
                        (here, here_dist) = (next, d);
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        // Beam search on layer 0; every node is walked through, only kept ones are results.
        let ef = ef.max(k);
        let mut visited = vec![0u64; (self.offsets.len() - 1).div_ceil(64)];
        let mut seen = |slot: u32| {
            let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
            let first = visited[word] & bit == 0;
            visited[word] |= bit;
            first
        };
        seen(here);
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
            for &next in self.layer0(slot) {
                if !seen(next) {
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
}
