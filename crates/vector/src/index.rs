//! [`VectorIndex`]: HNSW over a [`Slab`], with tombstones, filters and exact rescoring.

use std::collections::HashSet;
use std::fmt;

use hnsw_rs::prelude::{DataId, Hnsw};
use shoebox_core::PhotoId;

use crate::graph::FlatGraph;
use crate::quant::{self, CodeCosine};
use crate::simd::{dot, norm};
use crate::slab::Slab;
use crate::{Error, Result};

/// Largest layer count hnsw_rs supports; the graph uses what the data needs.
const MAX_LAYERS: usize = 16;
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

/// The HNSW graph over the slab's int8 codes, points numbered by slot.
pub(crate) type Graph = Hnsw<'static, i8, CodeCosine>;

/// The vectors of one model, searchable by cosine similarity.
pub struct VectorIndex {
    model_id: String,
    params: IndexParams,
    slab: Slab,
    graph: Graph,
    /// The graph copied for fast search; `None` after inserts until [`Self::prepare_search`].
    flat: Option<FlatGraph>,
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
        Self::from_slab(
            model_id.into(),
            params,
            Slab::new(dim),
            new_graph(&params, 0),
        )
    }

    pub(crate) fn from_slab(
        model_id: String,
        params: IndexParams,
        slab: Slab,
        graph: Graph,
    ) -> Self {
        Self {
            model_id,
            params,
            slab,
            graph,
            flat: None,
        }
    }

    /// Copies the graph into the flat form searches walk fastest (see `graph.rs`); call after
    /// a run of inserts. Until then searches use hnsw_rs's own, slower walk.
    pub fn prepare_search(&mut self) {
        self.flat = Some(FlatGraph::new(&self.graph, self.slab.slots()));
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

    /// Adds or replaces many photos' vectors, building the graph in parallel. Nothing is
    /// inserted when any vector is invalid.
    pub fn insert_batch(&mut self, items: &[(PhotoId, &[f32])]) -> Result<()> {
        for (photo, vector) in items {
            self.check(*photo, vector)?;
        }
        self.append(items);
        Ok(())
    }

    /// Pushes checked vectors into the slab and the graph.
    fn append(&mut self, items: &[(PhotoId, &[f32])]) {
        let first = self.slab.slots();
        for (photo, vector) in items {
            self.slab.push(*photo, vector);
        }
        let points: Vec<(&[i8], DataId)> = (first..self.slab.slots())
            .map(|slot| (self.slab.code(slot), slot))
            .collect();
        match points.as_slice() {
            [] => return,
            [one] => self.graph.insert_slice(*one),
            _ => self.graph.parallel_insert_slice(&points),
        }
        self.flat = None;
    }

    /// Removes a photo; false when it was not there.
    pub fn remove(&mut self, photo: PhotoId) -> bool {
        self.slab.remove(photo)
    }

    /// Whether tombstones have piled up enough for [`Self::compacted`] to pay off.
    pub fn needs_compaction(&self) -> bool {
        let tombstones = self.tombstones() as f32;
        tombstones > 0.0 && tombstones > self.params.compact_ratio * self.len().max(1) as f32
    }

    /// A fresh graph over the live vectors only.
    pub fn compacted(&self) -> Self {
        let items: Vec<(PhotoId, &[f32])> = self
            .slab
            .live()
            .map(|(photo, slot)| (photo, self.slab.vector(slot)))
            .collect();
        let mut fresh = Self::from_slab(
            self.model_id.clone(),
            self.params,
            Slab::new(self.dim()),
            new_graph(&self.params, items.len()),
        );
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
        let slots: Vec<usize> = match &self.flat {
            Some(flat) => flat
                .search(
                    ef,
                    ef,
                    |slot| quant::distance(&code, self.slab.code(slot as usize)),
                    |slot| keep(slot as usize),
                )
                .into_iter()
                .map(|(_, slot)| slot as usize)
                .collect(),
            None => self
                .graph
                .search_filter(&code, ef, ef, Some(&|slot: &DataId| keep(*slot)))
                .iter()
                .map(|n| n.get_origin_id())
                .collect(),
        };
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

    pub(crate) fn graph(&self) -> &Graph {
        &self.graph
    }
}

pub(crate) fn new_graph(params: &IndexParams, expected: usize) -> Graph {
    Hnsw::new(
        params.max_connections,
        expected.max(1024),
        MAX_LAYERS,
        params.ef_construction,
        CodeCosine,
    )
}

fn best_first(a: &Hit, b: &Hit) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then(a.photo.cmp(&b.photo))
}

/// Keeps the best `k` hits (k ≥ 1), best first.
fn top_k(hits: &mut Vec<Hit>, k: usize) {
    if hits.len() > k {
        hits.select_nth_unstable_by(k - 1, best_first);
        hits.truncate(k);
    }
    hits.sort_unstable_by(best_first);
}
