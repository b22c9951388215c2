//! [`SearchFilters`]: what narrows a search, whatever the query.

use serde::{Deserialize, Serialize};

use crate::RootId;

/// A folder inside a library root; an empty `rel` is the whole root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderRef {
    /// The root.
    pub root: RootId,
    /// Folder relative to the root, `/`-separated, no leading or trailing `/`.
    pub rel: String,
}

/// Filters applied to every source of a search (all must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchFilters {
    /// Taken at or after (Unix seconds).
    pub since: Option<i64>,
    /// Taken before (Unix seconds).
    pub until: Option<i64>,
    /// In any of these folders (or below them).
    pub folders: Vec<FolderRef>,
    /// Camera make / model contains all these words (case-insensitive).
    pub camera: Option<String>,
    /// Carries every one of these tags.
    pub tags: Vec<String>,
    /// Media type (`photo`).
    pub media: Option<String>,
}

impl SearchFilters {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
