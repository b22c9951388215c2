//! Shoebox's domain: the types every other crate speaks (photos, library roots, metadata,
//! scan outcomes) and the port traits that storage and index adapters implement.
//!
//! This crate owns no I/O. It builds for `wasm32` so the web UI can share these types, and
//! depends only on `serde`, `thiserror` and `time`.

mod album;
mod captioner;
mod embedding;
mod error;
mod filters;
mod ids;
mod jobs;
mod metadata;
mod photo;
mod query;
mod queue;
mod root;
mod store;
mod user;
mod variation;

pub use album::{MAX_ALBUM_NAME, MAX_ALBUM_PROMPTS, MAX_PROMPT, SmartAlbum};
pub use captioner::Captioner;
pub use embedding::{Embedding, ImageEmbedder, Pixels, TextEmbedder};
pub use error::{BoxError, Error, Result};
pub use filters::{FolderRef, Generated, MEDIA_GENERATED, SearchFilters, day_start};
pub use ids::{ContentHash, PhotoId, RootId, hex, unhex32};
pub use jobs::{Claim, Job, JobCounts, JobFailure, JobKind, JobScope, NewJob, Wanted, priority};
pub use metadata::{Exposure, GpsPosition, ImageFormat, PhotoMetadata, TakenAt};
pub use photo::{FileStamp, KnownPhoto, Photo, PhotoStatus, PhotoWrite, ScanOutcome, ScanProblem};
pub use query::{MAX_QUERY_BYTES, ParsedQuery, QueryTerm};
pub use queue::JobQueue;
pub use root::Root;
pub use store::{
    FailureReport, LibraryStatus, MetadataStore, PendingPhoto, PhotoTag, StoredCaption,
    StoredEmbedding, TagOnPhoto, ZeroShotTags,
};
pub use user::{ApiToken, Role, Session, SessionInfo, User};
pub use variation::VariationRecord;
