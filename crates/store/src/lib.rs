//! Shoebox's durable storage: the [`shoebox_core::MetadataStore`] and [`shoebox_core::JobQueue`]
//! ports on SQLite through sqlx.
//!
//! The database lives in the data directory (WAL journal, foreign keys on, a busy timeout so
//! concurrent readers wait rather than fail). Migrations under `migrations/sqlite` are embedded
//! and applied when the store opens. Backends are chosen by URL scheme; PostgreSQL follows.

mod error;
mod sqlite;

pub use error::{Error, Result};
pub use sqlite::{BUSY_TIMEOUT, SqliteStore};
