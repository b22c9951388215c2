//! Photos as the store keeps them, and the writes a scan makes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{ContentHash, PhotoId, PhotoMetadata, RootId};

/// A file's size and modification time: the cheap check for "changed?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Last change, nanoseconds since the Unix epoch: the later of the content's modification
    /// time and (on Unix) the inode's change time, so a file renamed over another is seen.
    pub mtime_ns: i64,
}

/// Where a photo stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PhotoStatus {
    /// Read and indexed.
    Ok,
    /// Present but unusable; the record carries the reason.
    Failed,
    /// No longer on disk. Kept so that a file coming back keeps its id and everything attached.
    Gone,
}

impl PhotoStatus {
    /// The lower-case name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Gone => "gone",
        }
    }
}

impl fmt::Display for PhotoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PhotoStatus {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        [Self::Ok, Self::Failed, Self::Gone]
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| crate::Error::Invalid(format!("unknown photo status {s:?}")))
    }
}

/// The part of a photo record a scan compares with the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPhoto {
    /// Stable id.
    pub id: PhotoId,
    /// Root the path is relative to.
    pub root: RootId,
    /// Path relative to the root, `/`-separated.
    pub rel_path: String,
    /// Size and mtime when last scanned.
    pub stamp: FileStamp,
    /// Content hash, absent when the file could not be read.
    pub hash: Option<ContentHash>,
    /// Current status.
    pub status: PhotoStatus,
    /// Whether metadata was extracted (the photo was indexed at least once with this content).
    pub indexed: bool,
}

/// A full photo record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Photo {
    /// Stable id.
    pub id: PhotoId,
    /// Root the path is relative to.
    pub root: RootId,
    /// Path relative to the root, `/`-separated.
    pub rel_path: String,
    /// Size and mtime when last scanned.
    pub stamp: FileStamp,
    /// Content hash, absent when the file could not be read.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub hash: Option<ContentHash>,
    /// Current status.
    pub status: PhotoStatus,
    /// Why the photo failed, for `Failed`.
    pub error: Option<String>,
    /// Extracted metadata, absent when the photo never indexed.
    pub metadata: Option<PhotoMetadata>,
    /// When the file was first seen.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    /// When a scan last saw the file.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

/// What reading one file gave.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanOutcome {
    /// The file is a usable photo.
    Indexed(PhotoMetadata),
    /// The file cannot be used; the reason is shown to the user.
    Failed {
        /// Clear, user-facing reason ("truncated JPEG: ...", "empty file").
        reason: String,
    },
}

/// One change a scan makes to the photo records.
///
/// A batch of writes is applied in one transaction, gone marks first and moves next, so a
/// path freed in the batch can be taken in the same batch.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoWrite {
    /// A file at a path that has no live record.
    Insert {
        /// Root of the new file.
        root: RootId,
        /// Path relative to the root.
        rel_path: String,
        /// Size and mtime.
        stamp: FileStamp,
        /// Content hash, absent when unreadable.
        hash: Option<ContentHash>,
        /// What reading gave.
        outcome: ScanOutcome,
    },
    /// New content at a live record's path: the id stays, the metadata is replaced.
    Replace {
        /// The record at that path.
        id: PhotoId,
        /// New size and mtime.
        stamp: FileStamp,
        /// New content hash.
        hash: Option<ContentHash>,
        /// What reading gave.
        outcome: ScanOutcome,
    },
    /// The same content seen again at the same path (perhaps with a new mtime).
    Touch {
        /// The record.
        id: PhotoId,
        /// Size and mtime now.
        stamp: FileStamp,
    },
    /// Known content found at another path: a move, a rename, or a deleted file coming back.
    Move {
        /// The record whose content was found.
        id: PhotoId,
        /// Root of the new path.
        root: RootId,
        /// The new path relative to the root.
        rel_path: String,
        /// Size and mtime at the new path.
        stamp: FileStamp,
    },
    /// The file is no longer on disk.
    MarkGone {
        /// The record.
        id: PhotoId,
    },
}

/// A problem with something that is not a photo record: an unreadable folder, a symlink loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanProblem {
    /// Path relative to the root (empty for the root itself).
    pub rel_path: String,
    /// Clear, user-facing reason.
    pub reason: String,
}
