//! The durable job queue on the `jobs` table: idempotent enqueue by key, claims under a lease,
//! retries with backoff, failures kept with their reason. Finished jobs are deleted: what is
//! done is in the derived data itself.

use std::time::Duration;

use shoebox_core::{Job, JobCounts, JobFailure, JobKind, NewJob, PhotoId};
use sqlx::SqlitePool;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::QueryContext;
use crate::{Error, Result};

/// Queue times: fixed width, UTC, to the millisecond, so they compare as text.
fn at(t: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

fn in_from_now(d: Duration) -> String {
    at(OffsetDateTime::now_utc() + d)
}

pub(crate) async fn enqueue(pool: &SqlitePool, kind: JobKind, jobs: Vec<NewJob>) -> Result<u64> {
    let mut tx = pool.begin().await.context("starting to enqueue jobs")?;
    let now = at(OffsetDateTime::now_utc());
    let mut added = 0;
    for job in jobs {
        added += sqlx::query(
            "INSERT INTO jobs (kind, key, photo_id, payload, priority, state, attempts, run_after,
                               created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?)
             ON CONFLICT (kind, key) DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(&job.key)
        .bind(job.photo.0)
        .bind(&job.scope)
        .bind(job.priority)
        .bind(&now)
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .context("enqueuing a job")?
        .rows_affected();
    }
    tx.commit().await.context("committing enqueued jobs")?;
    Ok(added)
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    photo_id: Option<i64>,
    key: String,
    attempts: i64,
}

pub(crate) async fn claim(
    pool: &SqlitePool,
    kind: JobKind,
    scope: &str,
    owner: &str,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Job>> {
    let now = at(OffsetDateTime::now_utc());
    let rows: Vec<JobRow> = sqlx::query_as(
        "UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?,
                         attempts = attempts + 1, updated_at = ?
         WHERE id IN (
             SELECT id FROM jobs
             WHERE kind = ? AND payload = ? AND ((state = 'queued' AND run_after <= ?)
                                 OR (state = 'running' AND lease_expires_at <= ?))
             ORDER BY priority DESC, id LIMIT ?)
         RETURNING id, photo_id, key, attempts",
    )
    .bind(owner)
    .bind(in_from_now(lease))
    .bind(&now)
    .bind(kind.as_str())
    .bind(scope)
    .bind(&now)
    .bind(&now)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("claiming jobs")?;
    let mut jobs: Vec<Job> =
        rows.into_iter()
            .map(|r| {
                Ok(Job {
                    id: r.id,
                    photo: PhotoId(r.photo_id.ok_or_else(|| {
                        Error::Corrupt(format!("{kind} job {} has no photo", r.id))
                    })?),
                    key: r.key,
                    attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
                })
            })
            .collect::<Result<_>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

pub(crate) async fn complete(pool: &SqlitePool, ids: Vec<i64>) -> Result<()> {
    let mut tx = pool.begin().await.context("starting to finish jobs")?;
    for id in ids {
        sqlx::query("DELETE FROM jobs WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("finishing a job")?;
    }
    tx.commit().await.context("committing finished jobs")
}

pub(crate) async fn fail(
    pool: &SqlitePool,
    id: i64,
    reason: &str,
    retry_in: Option<Duration>,
) -> Result<()> {
    let now = at(OffsetDateTime::now_utc());
    let (state, run_after) = match retry_in {
        Some(wait) => ("queued", in_from_now(wait)),
        None => ("failed", now.clone()),
    };
    sqlx::query(
        "UPDATE jobs SET state = ?, run_after = ?, error = ?, lease_owner = NULL,
                         lease_expires_at = NULL, updated_at = ?
         WHERE id = ?",
    )
    .bind(state)
    .bind(run_after)
    .bind(reason)
    .bind(&now)
    .bind(id)
    .execute(pool)
    .await
    .context("recording a failed job")?;
    Ok(())
}

pub(crate) async fn release(pool: &SqlitePool, owner: &str) -> Result<u64> {
    let now = at(OffsetDateTime::now_utc());
    Ok(sqlx::query(
        "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                         updated_at = ?
         WHERE state = 'running' AND lease_owner IS NOT ?",
    )
    .bind(&now)
    .bind(owner)
    .execute(pool)
    .await
    .context("releasing the jobs of a stopped worker")?
    .rows_affected())
}

pub(crate) async fn counts(pool: &SqlitePool) -> Result<Vec<JobCounts>> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind")
            .fetch_all(pool)
            .await
            .context("counting jobs")?;
    let mut out: Vec<JobCounts> = Vec::new();
    for (kind, state, n) in rows {
        if out.last().is_none_or(|c| c.kind != kind) {
            out.push(JobCounts {
                kind,
                ..JobCounts::default()
            });
        }
        let n = u64::try_from(n).unwrap_or(0);
        if let Some(counts) = out.last_mut() {
            match state.as_str() {
                "queued" => counts.queued += n,
                "running" => counts.running += n,
                "failed" => counts.failed += n,
                _ => {}
            }
        }
    }
    Ok(out)
}

pub(crate) async fn failures(pool: &SqlitePool, limit: u32) -> Result<Vec<JobFailure>> {
    let rows: Vec<(String, Option<i64>, i64, Option<String>)> = sqlx::query_as(
        "SELECT kind, photo_id, attempts, error FROM jobs WHERE state = 'failed'
         ORDER BY updated_at DESC, id DESC LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("listing failed jobs")?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, photo, attempts, error)| {
            Some(JobFailure {
                kind,
                photo: PhotoId(photo?),
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                reason: error.unwrap_or_default(),
            })
        })
        .collect())
}
