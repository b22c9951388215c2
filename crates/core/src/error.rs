//! The error every port trait returns.

/// A boxed error from an adapter, kept as the source of [`Error::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors crossing a port boundary.
///
/// `NotFound`, `Conflict` and `Invalid` are the user's to fix and safe to show; `Unavailable`
/// passes (retry later); `Backend` is an internal failure whose details belong in logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked for does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up, e.g. `root /photos`.
        what: String,
    },
    /// The request clashes with what is already stored.
    #[error("{0}")]
    Conflict(String),
    /// The request itself is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The adapter cannot be reached, or another program holds it locked, right now: the same
    /// call may succeed later.
    #[error("{context}: unavailable right now")]
    Unavailable {
        /// What the adapter was doing.
        context: String,
        /// The adapter's own error.
        #[source]
        source: BoxError,
    },
    /// The adapter failed (database, filesystem, ...).
    #[error("{context}")]
    Backend {
        /// What the adapter was doing.
        context: String,
        /// The adapter's own error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Wraps an adapter error with what the adapter was doing.
    pub fn backend(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// Result with [`Error`] by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
