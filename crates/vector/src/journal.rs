//! What changed in an index since it was last saved or loaded, and where that was: what lets
//! a save append the changes to the snapshot's log instead of rewriting every vector.
//!
//! The slab's changes are listed here in order; the graph's are the slots its `changed` bits
//! mark (`graph.rs`).

use std::path::PathBuf;

use shoebox_core::PhotoId;

/// One change to the slab, in the order it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// A vector pushed into this slot (its photo's earlier slot, if any, became a tombstone).
    Insert(usize),
    /// The photo's live slot became a tombstone.
    Remove(PhotoId),
}

/// The changes since the last save or load, and what that save or load left on disk.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    pub(crate) changes: Vec<Change>,
    pub(crate) saved: Option<SavedAt>,
}

/// A snapshot generation this index was saved to or loaded from, and how far its log went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SavedAt {
    /// The folder `save` / `load` was given.
    pub(crate) dir: PathBuf,
    /// The generation `CURRENT` named.
    pub(crate) generation: u64,
    /// Bytes of the generation's log written or read (its valid part).
    pub(crate) log_len: u64,
    /// Bytes of the generation's snapshot files.
    pub(crate) snapshot_len: u64,
}

impl Journal {
    /// Notes a change for the next save — unless nothing was saved or loaded yet, when the
    /// next save writes a snapshot whatever changed.
    pub(crate) fn record(&mut self, change: Change) {
        if self.saved.is_some() {
            self.changes.push(change);
        }
    }

    /// Bytes this journal holds on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.changes.capacity() * std::mem::size_of::<Change>()
    }
}
