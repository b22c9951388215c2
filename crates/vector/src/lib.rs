//! Shoebox's vector index: one HNSW graph per embedding model, over unit-length vectors,
//! scored by cosine similarity.
//!
//! The graph is our own (`graph.rs`): built and walked over int8 codes of the vectors (a
//! quarter of the bytes of f32, each distance cheaper), its candidates rescored exactly in f32
//! (no recall lost), held as flat arrays of slot numbers beside the slab of vectors — one copy
//! of each, nothing else per point. On top of it this crate adds what a photo library needs:
//! replacing and deleting photos (tombstones, filtered from every result, compaction once
//! they pile up), searching under an allowed-id filter (with an exact scan when the filter
//! is selective or the index small), and crash-safe persistence — snapshots plus a log of
//! the changes since, whose manifest and records carry checksums and the store's watermark,
//! so a stale, partial or corrupt save is refused and the caller rebuilds it from the stored
//! embeddings.

mod error;
mod graph;
mod index;
mod journal;
mod persist;
mod quant;
mod simd;
mod slab;

pub use error::{Error, Result};
pub use index::{Filter, Hit, IndexParams, VectorIndex};
pub use persist::Loaded;
