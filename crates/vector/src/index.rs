//! [`VectorIndex`]: an HNSW graph over a [`Slab`], with tombstones, filters and exact
//! rescoring.
//!
//! The index holds the slab (vectors, their int8 codes, photo ids, tombstones), the graph over
//! the codes (`graph.rs`, which builds it too) and the journal of changes since the last save.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use shoebox_core::PhotoId;

use crate::graph::FlatGraph;
use crate::journal::{Change, Journal};
use crate::quant;
use crate::simd::{dot, norm};
use crate::slab::Slab;
use crate::{Error, Result};

/// Most slots an index holds (the graph numbers them with `u32`).
const MAX_SLOTS: usize = u32::MAX as usize - 1;
/// How far from 1 a stored or query vector's norm may be.
const NORM_TOLERANCE: f32 = 1e-2;

/// Graph and search settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexParams {
    /// Neighbours per node (HNSW `M`).
    pub max_connections: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching (at least `k`).
    pub ef_search: usize,
    /// Below this many candidates (live photos, or photos a filter allows) a search scans
    /// exactly instead of walking the graph.
    pub exact_below: usize,
    /// Compaction is due once tombstones exceed this fraction of live photos.
    pub compact_ratio: f32,
}

impl Default for IndexParams {
    fn default() -> Self {
        Self {
            max_connections: 24,
            ef_construction: 200,
            ef_search: 96,
            exact_below: 4096,
            compact_ratio: 0.25,
        }
    }
}

/// Which photos a search may return.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// Every photo in the index.
    All,
    /// Only these.
    Only(&'a HashSet<PhotoId>),
    /// All but these.
    Except(&'a HashSet<PhotoId>),
}

impl Filter<'_> {
    fn allows(&self, photo: PhotoId) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(&photo),
            Self::Except(ids) => !ids.contains(&photo),
        }
    }
}

/// A photo and its cosine similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The photo.
    pub photo: PhotoId,
    /// Cosine similarity in `[-1, 1]`, computed exactly from the stored vector.
    pub score: f32,
}

/// The vectors of one model, searchable by cosine similarity.
pub struct VectorIndex {
    model_id: String,
    params: IndexParams,
    slab: Slab,
    /// The HNSW graph over the slab's int8 codes, nodes numbered by slot.
    graph: FlatGraph,
    /// The changes since the last save (under a lock: [`Self::save`] takes `&self`).
    journal: Mutex<Journal>,
}

impl fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VectorIndex")
            .field("model_id", &self.model_id)
            .field("dim", &self.slab.dim())
            .field("live", &self.slab.live_len())
            .field("slots", &self.slab.slots())
            .finish()
    }
}

impl VectorIndex {
    /// An empty index for `model_id`'s vectors of dimension `dim`.
    pub fn new(model_id: impl Into<String>, dim: usize, params: IndexParams) -> Self {
        Self::from_parts(
            model_id.into(),
            params,
            Slab::new(dim),
            FlatGraph::new(params.max_connections),
            Journal::default(),
        )
    }

    pub(crate) fn from_parts(
        model_id: String,
        params: IndexParams,
        slab: Slab,
        graph: FlatGraph,
        journal: Journal,
    ) -> Self {
        Self {
            model_id,
            params,
            slab,
            graph,
            journal: Mutex::new(journal),
        }
    }

    /// Gives back the spare capacity that inserts leave (under an eighth of what is held);
    /// call after a run of inserts. Searches do not need it: the graph is searchable as soon
    /// as an insert returns.
    pub fn prepare_search(&mut self) {
        self.slab.shrink_to_fit();
        self.graph.shrink_to_fit();
        self.journal_mut().changes.shrink_to_fit();
    }

    /// Bytes the index has allocated on the heap: vectors, codes, photo ids and the map from
    /// photo to slot, live flags, the graph, and the changes not saved yet. Counts capacity
    /// (spare capacity not yet written may not be resident), not the allocator's overhead.
    pub fn heap_bytes(&self) -> usize {
        let journal = self
            .journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .heap_bytes();
        self.slab.heap_bytes() + self.graph.heap_bytes() + journal + self.model_id.capacity()
    }

    /// The model whose vectors this holds.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The vectors' dimension.
    pub fn dim(&self) -> usize {
        self.slab.dim()
    }

    /// Number of live photos.
    pub fn len(&self) -> usize {
        self.slab.live_len()
    }

    /// Whether no photo is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaced or removed vectors still in the graph.
    pub fn tombstones(&self) -> usize {
        self.slab.slots() - self.slab.live_len()
    }

    /// The settings in force.
    pub fn params(&self) -> IndexParams {
        self.params
    }

    /// Changes the search-time candidate list size.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef;
    }

    /// Whether `photo` has a live vector.
    pub fn contains(&self, photo: PhotoId) -> bool {
        self.slab.live_slot(photo).is_some()
    }

    /// Every live photo, in no order.
    pub fn photos(&self) -> Vec<PhotoId> {
        self.slab.live().map(|(photo, _)| photo).collect()
    }

    /// The photo's live vector.
    pub fn vector(&self, photo: PhotoId) -> Option<&[f32]> {
        self.slab
            .live_slot(photo)
            .map(|slot| self.slab.vector(slot))
    }

    /// Adds or replaces one photo's vector.
    pub fn insert(&mut self, photo: PhotoId, vector: &[f32]) -> Result<()> {
        self.insert_batch(&[(photo, vector)])
    }

    /// Adds or replaces many photos' vectors, a large batch on every core. Nothing is
    /// inserted when any vector is invalid.
    pub fn insert_batch(&mut self, items: &[(PhotoId, &[f32])]) -> Result<()> {
        for (photo, vector) in items {
            self.check(*photo, vector)?;
        }
        if self.slab.slots() + items.len() > MAX_SLOTS {
            return Err(Error::Full {
                slots: self.slab.slots(),
            });
        }
        self.append(items);
        Ok(())
    }

    /// Pushes checked vectors into the slab and links them into the graph.
    fn append(&mut self, items: &[(PhotoId, &[f32])]) {
        let journal = self
            .journal
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for (photo, vector) in items {
            let slot = self.slab.push(*photo, vector);
            journal.record(Change::Insert(slot));
        }
        let slab = &self.slab;
        let distance =
            |a: u32, b: u32| quant::distance(slab.code(a as usize), slab.code(b as usize));
        self.graph
            .insert(slab.slots(), self.params.ef_construction, &distance);
    }

    /// Removes a photo; false when it was not there.
    pub fn remove(&mut self, photo: PhotoId) -> bool {
        let removed = self.slab.remove(photo);
        if removed {
            self.journal_mut().record(Change::Remove(photo));
        }
        removed
    }

    pub(crate) fn journal_mut(&mut self) -> &mut Journal {
        self.journal
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether tombstones have piled up enough for [`Self::compacted`] to pay off.
    pub fn needs_compaction(&self) -> bool {
        let tombstones = self.tombstones() as f32;
        tombstones > 0.0 && tombstones > self.params.compact_ratio * self.len().max(1) as f32
    }

    /// A fresh graph over the live vectors only (its first save writes a full snapshot).
    pub fn compacted(&self) -> Self {
        let items: Vec<(PhotoId, &[f32])> = self
            .slab
            .live()
            .map(|(photo, slot)| (photo, self.slab.vector(slot)))
            .collect();
        let mut fresh = Self::new(self.model_id.clone(), self.dim(), self.params);
        // The vectors were checked when they first came in.
        fresh.append(&items);
        fresh.prepare_search();
        fresh
    }

    /// The `k` live photos most similar to `query` that the filter allows, best first.
    ///
    /// Walks the graph over the int8 codes, then rescores its `ef_search` candidates with the
    /// exact vectors; scans exactly instead when the candidates are few, and falls back to a
    /// scan when the graph walk comes back short.
    pub fn search(&self, query: &[f32], k: usize, filter: Filter<'_>) -> Result<Vec<Hit>> {
        self.check(PhotoId(0), query)?;
        let candidates = match filter {
            Filter::All => self.len(),
            Filter::Only(ids) => ids.len().min(self.len()),
            Filter::Except(ids) => self.len().saturating_sub(ids.len()),
        };
        if k == 0 || candidates == 0 {
            return Ok(Vec::new());
        }
        if candidates <= self.params.exact_below {
            return Ok(self.exact(query, k, filter));
        }
        let keep = |slot: usize| self.slab.is_live(slot) && filter.allows(self.slab.photo(slot));
        // The walk ranks int8 codes and keeps `ef` candidates; f32 rescoring picks the `k`.
        let ef = self.params.ef_search.max(k);
        let mut code = Vec::with_capacity(query.len());
        quant::encode(query, &mut code);
        let slots: Vec<usize> = self
            .graph
            .search(
                ef,
                ef,
                |slot| quant::distance(&code, self.slab.code(slot as usize)),
                |slot| keep(slot as usize),
            )
            .into_iter()
            .map(|(_, slot)| slot as usize)
            .collect();
        if slots.len() < k.min(candidates) {
            return Ok(self.exact(query, k, filter));
        }
        let mut hits: Vec<Hit> = slots
            .into_iter()
            .map(|slot| Hit {
                photo: self.slab.photo(slot),
                score: dot(query, self.slab.vector(slot)),
            })
            .collect();
        top_k(&mut hits, k);
        Ok(hits)
    }

    /// The exact top `k` by brute force: the ground truth for [`Self::search`].
    pub fn exact(&self, query: &[f32], k: usize, filter: Filter<'_>) -> Vec<Hit> {
        let score = |(photo, slot): (PhotoId, usize)| Hit {
            photo,
            score: dot(query, self.slab.vector(slot)),
        };
        let mut hits: Vec<Hit> = match filter {
            Filter::All | Filter::Except(_) => self
                .slab
                .live()
                .filter(|(photo, _)| filter.allows(*photo))
                .map(score)
                .collect(),
            // A small set: look its photos up rather than scanning every slot.
            Filter::Only(ids) => ids
                .iter()
                .filter_map(|photo| {
                    self.slab
                        .live_slot(*photo)
                        .map(|slot| score((*photo, slot)))
                })
                .collect(),
        };
        top_k(&mut hits, k);
        hits
    }

    fn check(&self, photo: PhotoId, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dim() {
            return Err(Error::Dimension {
                expected: self.dim(),
                got: vector.len(),
            });
        }
        let norm = norm(vector);
        if !norm.is_finite() || (norm - 1.0).abs() > NORM_TOLERANCE {
            return Err(Error::NotUnit {
                photo: photo.0,
                norm,
            });
        }
        Ok(())
    }

    pub(crate) fn slab(&self) -> &Slab {
        &self.slab
    }

    pub(crate) fn graph(&self) -> &FlatGraph {
        &self.graph
    }

    pub(crate) fn graph_mut(&mut self) -> &mut FlatGraph {
        &mut self.graph
    }

    pub(crate) fn slab_mut(&mut self) -> &mut Slab {
        &mut self.slab
    }

    pub(crate) fn journal(&self) -> &Mutex<Journal> {
        &self.journal
    }
}

fn best_first(a: &Hit, b: &Hit) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then(a.photo.cmp(&b.photo))
}

/// Keeps the best `k` hits (k ≥ 1), best first.
fn top_k(hits: &mut Vec<Hit>, k: usize) {
    if hits.len() > k {
        hits.select_nth_unstable_by(k - 1, best_first);
        hits.truncate(k);
        // An exact scan's buffer held every candidate; keep only what is returned.
        hits.shrink_to_fit();
    }
    hits.sort_unstable_by(best_first);
}
