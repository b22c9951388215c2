//! The vector index's error.

use std::path::PathBuf;

/// What can go wrong in the vector index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A vector of the wrong dimension for this index.
    #[error("vector has {got} dimensions, the index holds {expected}")]
    Dimension {
        /// The index's dimension.
        expected: usize,
        /// The vector's.
        got: usize,
    },
    /// A vector that is not unit length (or has NaN / infinite components).
    #[error("vector for photo {photo} is not unit length (norm {norm})")]
    NotUnit {
        /// The photo the vector belongs to (0 for a query).
        photo: i64,
        /// Its Euclidean norm.
        norm: f32,
    },
    /// The index holds as many vectors as its graph can number.
    #[error("the index is full ({slots} vectors with tombstones); compact it")]
    Full {
        /// Vectors held, tombstones included.
        slots: usize,
    },
    /// Reading or writing an index file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An index file is there but cannot be used (partial, corrupt, another model).
    #[error("index at {path} is unusable: {reason}")]
    Corrupt {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Result with [`Error`] by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
