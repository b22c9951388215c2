//! The job system's types: a photo's work in one pipeline stage, for one model (its scope),
//! claimed by a worker under a lease, retried with backoff, dead with its reason after its
//! attempts run out.
//!
//! Jobs carry their work — the kind, the scope, the photo and the content it is made from —
//! so a worker needs nothing else to do it. They appear when the work does (see
//! [`JobScope`]): a photo's content is new or changed, an embedding lands, a model or tagger is
//! configured. Keys are the work itself, so enqueuing the same work twice is one job.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ContentHash, PhotoId};

/// A pipeline stage that runs as jobs; each has exactly one handler, in the engine's registry.
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

/// How soon work runs, across kinds: higher first.
pub mod priority {
    /// A new or changed photo's embedding and tags.
    pub const NEW_PHOTO: i32 = 30;
    /// Embeddings for a model being swapped in.
    pub const REEMBED: i32 = 20;
    /// Captions: last.
    pub const CAPTION: i32 = 10;
}

/// A scope the queue keeps work for: while it is set, every usable photo lacking the scope's
/// data has a job, enqueued by the store when the photo (or, for tags, its embedding) appears
/// or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobScope {
    /// The stage.
    pub kind: JobKind,
    /// The name jobs carry: the CLIP model for embeddings, the tagger for tags, the captioner
    /// and language for captions.
    pub scope: String,
    /// The model whose data the scope needs: the CLIP model (embeddings, and the embeddings
    /// tags score), or the captioner.
    pub model: String,
    /// The caption's language (empty for other kinds).
    pub lang: String,
    /// See [`priority`].
    pub priority: i32,
}

/// Work to enqueue by hand (the store enqueues a set scope's work itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The stage.
    pub kind: JobKind,
    /// What the work is for (see [`JobScope::scope`]).
    pub scope: String,
    /// The photo.
    pub photo: PhotoId,
    /// The content the work is made from.
    pub hash: ContentHash,
    /// See [`priority`].
    pub priority: i32,
}

/// One claim of a job: the job, its holder, and which claim of it this is. The queue refuses
/// completions, failures, renewals and give-backs from any claim but the job's latest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim {
    /// The queue's id of the job.
    pub job: i64,
    /// The worker holding it.
    pub owner: String,
    /// The job's claims so far, this one included: the fencing token.
    pub token: i64,
}

/// A claimed job: its work and its claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The stage.
    pub kind: JobKind,
    /// What the work is for.
    pub scope: String,
    /// The photo.
    pub photo: PhotoId,
    /// The content the work is made from.
    pub hash: ContentHash,
    /// Attempts so far, this one included (a claim given back does not count).
    pub attempts: u32,
    /// The claim.
    pub claim: Claim,
}

/// What a worker asks the queue for: jobs of one kind and scope, at most `limit` at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The stage.
    pub kind: JobKind,
    /// The scope it has the model for.
    pub scope: String,
    /// Jobs per claim at most.
    pub limit: u32,
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
    /// Out of attempts: kept with the reason until retried.
    pub dead: u64,
}

/// A job out of attempts.
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
