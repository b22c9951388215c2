//! The durable job queue's types: a photo's work in one pipeline stage, claimed by a worker
//! under a lease, retried with backoff, kept with its reason when it fails for good.
//!
//! What work exists is decided by the store's state (a photo lacking a current embedding, tags,
//! a caption); a job makes that work claimable by exactly one worker at a time, remembers its
//! failures, and orders it. Keys are deterministic — the photo, the model and the content —
//! so enqueuing the same work twice is one job.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::PhotoId;

/// A pipeline stage that runs as jobs; each has exactly one handler (a `match` in the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// A CLIP image embedding.
    Embed,
    /// Zero-shot tags and smart albums, from the embedding.
    Tag,
    /// A caption in one language.
    Caption,
}

impl JobKind {
    /// Every kind, in pipeline order.
    pub const ALL: [Self; 3] = [Self::Embed, Self::Tag, Self::Caption];

    /// The name stored in the queue.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Embed => "embed",
            Self::Tag => "tag",
            Self::Caption => "caption",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How soon work runs: higher first.
pub mod priority {
    /// A new or changed photo's embedding and tags.
    pub const NEW_PHOTO: i32 = 30;
    /// Embeddings for a model being swapped in.
    pub const REEMBED: i32 = 20;
    /// Captions: last.
    pub const CAPTION: i32 = 10;
}

/// Work to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The photo it is for.
    pub photo: PhotoId,
    /// Unique within its kind for the same work (the photo and its content, with the scope).
    pub key: String,
    /// What the work is for (a model, a tagger, a captioner and language): a worker claims
    /// the jobs of the scopes it has models for.
    pub scope: String,
    /// See [`priority`].
    pub priority: i32,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The queue's id.
    pub id: i64,
    /// The photo it is for.
    pub photo: PhotoId,
    /// Its key.
    pub key: String,
    /// Claims so far, this one included.
    pub attempts: u32,
}

/// The queue's jobs of one kind by state (finished jobs leave the queue).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobCounts {
    /// The kind's stored name.
    pub kind: String,
    /// Waiting (including those waiting out a retry backoff).
    pub queued: u64,
    /// Claimed by a worker.
    pub running: u64,
    /// Failed for good.
    pub failed: u64,
}

/// A job that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobFailure {
    /// The kind's stored name.
    pub kind: String,
    /// The photo.
    pub photo: PhotoId,
    /// Claims made.
    pub attempts: u32,
    /// Why the last one failed.
    pub reason: String,
}
