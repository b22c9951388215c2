//! Integration tests of the vector index: recall, memory per vector, invariants under random
//! edits, persistence (snapshots, and the log of changes beside them).

mod log;
mod memory;
mod persist;
mod props;
mod recall;

use shoebox_core::PhotoId;
use shoebox_vector::{Filter, IndexParams, VectorIndex};

/// An index over `vectors`, photo ids 1.. in order.
fn index_of(vectors: &[Vec<f32>], params: IndexParams) -> VectorIndex {
    let mut index = VectorIndex::new("test-model", vectors[0].len(), params);
    let items: Vec<(PhotoId, &[f32])> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (PhotoId(i as i64 + 1), v.as_slice()))
        .collect();
    index.insert_batch(&items).expect("valid vectors");
    index
}

/// Graph search forced even on small indices.
fn graph_only() -> IndexParams {
    IndexParams {
        exact_below: 0,
        ..IndexParams::default()
    }
}

fn ids(hits: &[shoebox_vector::Hit]) -> Vec<PhotoId> {
    hits.iter().map(|h| h.photo).collect()
}

fn top(index: &VectorIndex, query: &[f32], k: usize) -> Vec<PhotoId> {
    ids(&index.search(query, k, Filter::All).expect("valid query"))
}

/// The engine shares an index between threads (searches under a read lock).
#[test]
fn an_index_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<VectorIndex>();
}
