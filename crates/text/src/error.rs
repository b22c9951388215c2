//! The text index's error.

use std::path::PathBuf;

/// What can go wrong in the text index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// tantivy failed (I/O, a damaged segment, a lock held by another process).
    #[error("text index at {path}: {source}")]
    Tantivy {
        /// The index folder, or `memory`.
        path: PathBuf,
        /// tantivy's error.
        #[source]
        source: tantivy::TantivyError,
    },
    /// Another process holds the index's write lock.
    #[error("text index at {path} is in use by another Shoebox process")]
    Busy {
        /// The index folder.
        path: PathBuf,
    },
    /// A caption in a language no stemmer is configured for.
    #[error("captions in {0:?} are not supported (supported: {langs})", langs = crate::SUPPORTED_LANGUAGES.join(", "))]
    Language(String),
    /// A folder could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Result with [`Error`] by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
