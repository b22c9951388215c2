//! Reporting a scan's progress and its result.

use serde::{Deserialize, Serialize};
use shoebox_core::PhotoId;

/// Receives progress while a scan runs (a progress bar, a log, an event stream).
pub trait ScanProgress: Send + Sync {
    /// Walking and comparing are done; `total` files will now be read fully.
    fn reading(&self, total: u64) {
        let _ = total;
    }

    /// `n` more files were read and stored.
    fn advanced(&self, n: u64) {
        let _ = n;
    }
}

/// Progress that goes nowhere.
impl ScanProgress for () {}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// Files found under the roots (images or not).
    pub files: u64,
    /// New photos indexed.
    pub new: u64,
    /// Photos whose content changed, indexed again.
    pub changed: u64,
    /// Photos found at a new path (moved, renamed, or restored).
    pub moved: u64,
    /// Photos no longer on disk.
    pub removed: u64,
    /// Files that could not be indexed (each recorded with its reason).
    pub failed: u64,
    /// Photos that did not change.
    pub unchanged: u64,
    /// Files that are not images.
    pub skipped: u64,
    /// Folder-level problems (unreadable folders, symlink loops).
    pub problems: u64,
    /// Records whose derived data may no longer hold: marked gone, or read again (changed or
    /// failed). Not part of the summary a person sees.
    #[serde(skip)]
    pub stale: Vec<PhotoId>,
}
