//! Library status and folder-level scan problems.

use shoebox_core::{FailureReport, LibraryStatus, RootId, ScanProblem};
use sqlx::SqlitePool;

use super::codec::now;
use crate::Result;
use crate::error::QueryContext;

pub(crate) async fn set_problems(
    pool: &SqlitePool,
    root: RootId,
    problems: Vec<ScanProblem>,
) -> Result<()> {
    let mut tx = pool
        .begin()
        .await
        .context("starting to record scan problems")?;
    sqlx::query("DELETE FROM scan_problems WHERE root_id = ?")
        .bind(root.0)
        .execute(&mut *tx)
        .await
        .context("clearing scan problems")?;
    let now = now();
    for p in problems {
        sqlx::query(
            "INSERT INTO scan_problems (root_id, rel_path, reason, seen_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (root_id, rel_path) DO UPDATE SET reason = excluded.reason",
        )
        .bind(root.0)
        .bind(p.rel_path)
        .bind(p.reason)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .context("recording a scan problem")?;
    }
    tx.commit().await.context("committing scan problems")
}

pub(crate) async fn status(pool: &SqlitePool, failure_limit: u32) -> Result<LibraryStatus> {
    let roots: i64 = sqlx::query_scalar("SELECT count(*) FROM roots")
        .fetch_one(pool)
        .await
        .context("counting roots")?;
    // Kept by triggers: no pass over the library.
    let counts: Vec<(String, i64)> = sqlx::query_as("SELECT status, n FROM photo_counts")
        .fetch_all(pool)
        .await
        .context("counting photos")?;
    let count = |name: &str| {
        counts
            .iter()
            .find(|(s, _)| s == name)
            .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
    };
    let failures: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT r.path, p.rel_path, coalesce(p.error, '')
         FROM photos p JOIN roots r ON r.id = p.root_id
         WHERE p.status = 'failed' ORDER BY p.updated_at DESC, p.id DESC LIMIT ?",
    )
    .bind(failure_limit)
    .fetch_all(pool)
    .await
    .context("listing failures")?;
    let problems: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT r.path, s.rel_path, s.reason
         FROM scan_problems s JOIN roots r ON r.id = s.root_id ORDER BY r.path, s.rel_path",
    )
    .fetch_all(pool)
    .await
    .context("listing scan problems")?;
    let report = |(root, rel_path, reason): (String, String, String)| FailureReport {
        root,
        rel_path,
        reason,
    };
    Ok(LibraryStatus {
        roots: u64::try_from(roots).unwrap_or(0),
        ok: count("ok"),
        failed: count("failed"),
        gone: count("gone"),
        failures: failures.into_iter().map(report).collect(),
        problems: problems.into_iter().map(report).collect(),
    })
}
