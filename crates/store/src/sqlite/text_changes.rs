//! The log of photos whose text document changed (filled by triggers), read by the text index
//! to update only those, and pruned as it catches up.

use std::collections::BTreeSet;

use shoebox_core::PhotoId;
use sqlx::SqlitePool;

use super::embeddings::generation;
use crate::Result;
use crate::error::QueryContext;

/// The counter in `index_generations` holding the last pruned change.
const PRUNED: &str = "text_log_pruned";

pub(crate) async fn since(pool: &SqlitePool, after: i64) -> Result<Option<(Vec<PhotoId>, i64)>> {
    if after < generation(pool, PRUNED).await? {
        return Ok(None);
    }
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT seq, photo_id FROM text_changes WHERE seq > ? ORDER BY seq")
            .bind(after)
            .fetch_all(pool)
            .await
            .context("reading the text log")?;
    let last = rows.last().map_or(after, |(seq, _)| *seq);
    let photos: BTreeSet<i64> = rows.into_iter().map(|(_, photo)| photo).collect();
    Ok(Some((photos.into_iter().map(PhotoId).collect(), last)))
}

pub(crate) async fn last(pool: &SqlitePool) -> Result<i64> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM text_changes")
        .fetch_one(pool)
        .await
        .context("reading the text log's end")?;
    Ok(last.unwrap_or(0).max(generation(pool, PRUNED).await?))
}

pub(crate) async fn prune(pool: &SqlitePool, up_to: i64) -> Result<()> {
    let mut tx = pool
        .begin()
        .await
        .context("starting to prune the text log")?;
    sqlx::query("DELETE FROM text_changes WHERE seq <= ?")
        .bind(up_to)
        .execute(&mut *tx)
        .await
        .context("pruning the text log")?;
    sqlx::query(
        "INSERT INTO index_generations (name, generation) VALUES (?, ?)
         ON CONFLICT (name) DO UPDATE SET generation = MAX(generation, excluded.generation)",
    )
    .bind(PRUNED)
    .bind(up_to)
    .execute(&mut *tx)
    .await
    .context("recording the text log's start")?;
    tx.commit().await.context("committing the pruned text log")
}
