//! A database held locked by "another program" (a backup tool, a second program): a connection
//! of its own inside an exclusive transaction, so every other connection's writes wait.

use std::path::Path;

use sqlx::{Connection, SqliteConnection};

/// An exclusive lock on an SQLite database, held until [`DatabaseLock::release`].
#[derive(Debug)]
pub struct DatabaseLock {
    conn: SqliteConnection,
}

impl DatabaseLock {
    /// Takes the exclusive lock on the database file at `path`.
    pub async fn hold(path: &Path) -> crate::Result<Self> {
        let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await?;
        Ok(Self { conn })
    }

    /// Ends the transaction, letting the others write again.
    pub async fn release(mut self) -> crate::Result<()> {
        sqlx::query("COMMIT").execute(&mut self.conn).await?;
        Ok(())
    }
}
