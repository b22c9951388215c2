//! The store's error type.

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database URL names a backend this build does not have.
    #[error("unsupported database URL {url:?}: expected sqlite://PATH")]
    UnsupportedUrl {
        /// The URL given.
        url: String,
    },
    /// The database could not be opened.
    #[error("cannot open database {url}")]
    Open {
        /// The URL given.
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// Another process kept the database's open lock (held while it migrates) too long.
    #[error("cannot open database {url}: another process is still opening it")]
    OpenLocked {
        /// The URL given.
        url: String,
    },
    /// Applying the embedded migrations failed.
    #[error("cannot migrate database schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error while {context}")]
    Query {
        /// What the store was doing.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A stored value cannot be read back.
    #[error("corrupt value in the database: {0}")]
    Corrupt(String),
    /// Preparing the database's folder failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches what the store was doing to a driver error.
pub(crate) trait QueryContext<T> {
    fn context(self, context: &'static str) -> Result<T>;
}

impl<T> QueryContext<T> for std::result::Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Query { context, source })
    }
}

impl Error {
    /// Whether the error passes: the database is locked by another connection or program,
    /// no connection came free in time, or its file could not be read or written just now.
    pub fn is_transient(&self) -> bool {
        let source = match self {
            Self::Query { source, .. } | Self::Open { source, .. } => source,
            Self::OpenLocked { .. } | Self::Io(_) => return true,
            _ => return false,
        };
        match source {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
            // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN (with their
            // extended codes, whose low byte is the primary one).
            sqlx::Error::Database(db) => db
                .code()
                .and_then(|code| code.parse::<i64>().ok())
                .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)),
            _ => false,
        }
    }
}

impl From<Error> for shoebox_core::Error {
    fn from(e: Error) -> Self {
        if e.is_transient() {
            shoebox_core::Error::Unavailable {
                context: "store".to_owned(),
                source: Box::new(e),
            }
        } else {
            shoebox_core::Error::backend("store", e)
        }
    }
}
