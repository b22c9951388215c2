//! The indexer's error type. Problems with a photo are not errors: they are recorded on the
//! photo with a reason and the scan goes on. These are the failures that stop a scan.

use std::path::PathBuf;

/// Errors that stop a scan.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An ignore pattern is not a valid glob.
    #[error("invalid ignore pattern {pattern:?}: {reason}")]
    Glob {
        /// The pattern(s).
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing into the data directory failed.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Encoding or resizing a thumbnail failed.
    #[error("cannot make thumbnail {}: {reason}", path.display())]
    Thumbnail {
        /// The thumbnail being written.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The decoding thread pool could not start.
    #[error("cannot start decoding threads: {0}")]
    Threads(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] shoebox_core::Error),
    /// A root cannot be watched.
    #[error("cannot watch {}: {reason}", path.display())]
    Watch {
        /// The root.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A background task died.
    #[error("scan task failed: {0}")]
    Task(String),
}

/// Result with the indexer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
