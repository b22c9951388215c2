//! Shoebox's text index: tantivy over what can be said about a photo in words — captions per
//! language (each with its own stemmer), tags (as text and as facets), file-name and folder
//! tokens, camera and lens — with the date as a fast field.
//!
//! It answers BM25 queries with include / exclude terms and evaluates the search filters
//! (date range, folder, camera, tags, media type), so the vector side can be limited to the
//! same photos. Like the vector index it is derived data: each commit records the store's
//! watermark, and a stale or unreadable index is rebuilt from the store.

mod doc;
mod error;
mod filters;
mod index;
mod schema;

pub use doc::{Caption, TextDoc};
pub use error::{Error, Result};
pub use index::{TextHit, TextIndex};
pub use schema::SUPPORTED_LANGUAGES;
