//! The job queue ([`shoebox_core::JobQueue`]) on the `jobs` and `job_scopes` tables: work
//! enqueued by triggers as it appears (and once per new scope by one `INSERT … SELECT`),
//! claims by priority across kinds under a lease, every write fenced by the claim, retries
//! with backoff, dead jobs kept with their reason. Finished jobs are deleted: what is done is
//! in the derived data itself.

use std::time::Duration;

use shoebox_core as core;
use shoebox_core::{
    Claim, Job, JobCounts, JobFailure, JobKind, JobQueue, JobScope, NewJob, PhotoId, Wanted,
};
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;
use time::macros::format_description;

use super::SqliteStore;
use super::embeddings::hash;
use crate::error::QueryContext;
use crate::{Error, Result};

/// Queue times: fixed width, UTC, to the millisecond, so they compare as text (the triggers
/// write the same form with `strftime('%Y-%m-%dT%H:%M:%fZ')`).
fn at(t: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

fn now() -> String {
    at(OffsetDateTime::now_utc())
}

fn in_from_now(d: Duration) -> String {
    at(OffsetDateTime::now_utc() + d)
}

/// SQL put together from this module's constant fragments and placeholders only (no value
/// is ever formatted into it: values are bound).
fn assembled(sql: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(sql)
}

/// The columns every enqueue writes after the work itself.
const ENQUEUE: &str = "INSERT OR IGNORE INTO jobs (kind, scope, photo_id, content_hash, priority,
                                                   state, run_after, created_at, updated_at)";

/// Enqueues every usable photo lacking `scope`'s data: the one pass over the library a scope
/// costs, and the periodic reconciliation's.
async fn backfill(tx: &mut Transaction<'_, Sqlite>, scope: &JobScope) -> Result<u64> {
    let select = match scope.kind {
        JobKind::Embed => {
            "SELECT 'embed', ?1, p.id, p.content_hash, ?2, 'queued', ?5, ?5, ?5 FROM photos p
             WHERE p.status = 'ok' AND p.content_hash IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?3
                     AND e.content_hash = p.content_hash)"
        }
        JobKind::Caption => {
            "SELECT 'caption', ?1, p.id, p.content_hash, ?2, 'queued', ?5, ?5, ?5 FROM photos p
             WHERE p.status = 'ok' AND p.content_hash IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM captions c WHERE c.photo_id = p.id AND c.model_id = ?3
                     AND c.lang = ?4 AND c.content_hash = p.content_hash)"
        }
        JobKind::Tag => {
            "SELECT 'tag', ?1, p.id, p.content_hash, ?2, 'queued', ?5, ?5, ?5
             FROM embeddings e JOIN photos p ON p.id = e.photo_id
             WHERE e.model_id = ?3 AND p.status = 'ok' AND p.content_hash = e.content_hash
                 AND NOT EXISTS (
                     SELECT 1 FROM zero_shot_runs r WHERE r.photo_id = p.id AND r.tagger = ?1
                         AND r.content_hash = p.content_hash)"
        }
    };
    Ok(sqlx::query(assembled(format!("{ENQUEUE} {select}")))
        .bind(&scope.scope)
        .bind(scope.priority)
        .bind(&scope.model)
        .bind(&scope.lang)
        .bind(now())
        .execute(&mut **tx)
        .await
        .context("enqueuing a scope's missing work")?
        .rows_affected())
}

pub(crate) async fn set_scopes(
    pool: &SqlitePool,
    kind: JobKind,
    scopes: Vec<JobScope>,
) -> Result<u64> {
    let mut tx = pool.begin().await.context("starting to set job scopes")?;
    let known: Vec<(String,)> = sqlx::query_as("SELECT scope FROM job_scopes WHERE kind = ?")
        .bind(kind.as_str())
        .fetch_all(&mut *tx)
        .await
        .context("reading job scopes")?;
    for (old,) in &known {
        if !scopes.iter().any(|s| &s.scope == old) {
            for sql in [
                "DELETE FROM jobs WHERE kind = ? AND scope = ?",
                "DELETE FROM job_scopes WHERE kind = ? AND scope = ?",
            ] {
                sqlx::query(sql)
                    .bind(kind.as_str())
                    .bind(old)
                    .execute(&mut *tx)
                    .await
                    .context("dropping a job scope")?;
            }
        }
    }
    let mut enqueued = 0;
    for scope in scopes.iter().filter(|s| s.kind == kind) {
        sqlx::query(
            "INSERT INTO job_scopes (kind, scope, model_id, lang, priority) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (kind, scope) DO UPDATE SET model_id = excluded.model_id,
                 lang = excluded.lang, priority = excluded.priority",
        )
        .bind(kind.as_str())
        .bind(&scope.scope)
        .bind(&scope.model)
        .bind(&scope.lang)
        .bind(scope.priority)
        .execute(&mut *tx)
        .await
        .context("setting a job scope")?;
        if !known.iter().any(|(k,)| k == &scope.scope) {
            enqueued += backfill(&mut tx, scope).await?;
        }
    }
    tx.commit().await.context("committing job scopes")?;
    Ok(enqueued)
}

pub(crate) async fn reconcile(pool: &SqlitePool) -> Result<u64> {
    let mut tx = pool.begin().await.context("starting to reconcile jobs")?;
    let rows: Vec<(String, String, String, String, i32)> =
        sqlx::query_as("SELECT kind, scope, model_id, lang, priority FROM job_scopes")
            .fetch_all(&mut *tx)
            .await
            .context("reading job scopes")?;
    let mut enqueued = 0;
    for (kind, scope, model, lang, priority) in rows {
        // A scope of a kind this build does not know is left to the build that set it.
        let Some(kind) = JobKind::parse(&kind) else {
            continue;
        };
        let scope = JobScope {
            kind,
            scope,
            model,
            lang,
            priority,
        };
        enqueued += backfill(&mut tx, &scope).await?;
    }
    tx.commit().await.context("committing reconciled jobs")?;
    Ok(enqueued)
}

pub(crate) async fn enqueue(pool: &SqlitePool, jobs: Vec<NewJob>) -> Result<u64> {
    let mut tx = pool.begin().await.context("starting to enqueue jobs")?;
    let now = now();
    let mut added = 0;
    for job in jobs {
        added += sqlx::query(assembled(format!(
            "{ENQUEUE} VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)"
        )))
        .bind(job.kind.as_str())
        .bind(&job.scope)
        .bind(job.photo.0)
        .bind(job.hash.0.to_vec())
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

/// A claimable job: queued and due, or running under an expired lease.
const CLAIMABLE: &str = "((state = 'queued' AND run_after <= ?) OR
                          (state = 'running' AND lease_expires_at <= ?))";

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    scope: String,
    photo_id: i64,
    content_hash: Vec<u8>,
    attempts: i64,
    claims: i64,
}

pub(crate) async fn claim(
    pool: &SqlitePool,
    wanted: &[Wanted],
    owner: &str,
    lease: Duration,
) -> Result<Vec<Job>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let now = now();
    // The most urgent claimable job among the wanted kinds and scopes decides which kind and
    // scope this claim takes.
    let among = vec!["(kind = ? AND scope = ?)"; wanted.len()].join(" OR ");
    let sql = format!(
        "SELECT kind, scope FROM jobs WHERE ({among}) AND {CLAIMABLE}
         ORDER BY priority DESC, id LIMIT 1"
    );
    let mut best = sqlx::query_as::<_, (String, String)>(assembled(sql));
    for w in wanted {
        best = best.bind(w.kind.as_str()).bind(&w.scope);
    }
    let Some((kind, scope)) = best
        .bind(&now)
        .bind(&now)
        .fetch_optional(pool)
        .await
        .context("finding the most urgent job")?
    else {
        return Ok(Vec::new());
    };
    let limit = wanted
        .iter()
        .find(|w| w.kind.as_str() == kind && w.scope == scope)
        .map_or(1, |w| w.limit.max(1));
    // Another worker may have taken the jobs meanwhile: the update claims only what is still
    // claimable, in one statement.
    let rows: Vec<JobRow> = sqlx::query_as(assembled(format!(
        "UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?,
                         attempts = attempts + 1, claims = claims + 1, updated_at = ?
         WHERE id IN (
             SELECT id FROM jobs WHERE kind = ? AND scope = ? AND {CLAIMABLE}
             ORDER BY priority DESC, id LIMIT ?)
         RETURNING id, kind, scope, photo_id, content_hash, attempts, claims"
    )))
    .bind(owner)
    .bind(in_from_now(lease))
    .bind(&now)
    .bind(&kind)
    .bind(&scope)
    .bind(&now)
    .bind(&now)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("claiming jobs")?;
    let mut jobs = rows
        .into_iter()
        .map(|r| {
            Ok(Job {
                kind: JobKind::parse(&r.kind)
                    .ok_or_else(|| Error::Corrupt(format!("job {} of kind {:?}", r.id, r.kind)))?,
                scope: r.scope,
                photo: PhotoId(r.photo_id),
                hash: hash(&r.content_hash)?,
                attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
                claim: Claim {
                    job: r.id,
                    owner: owner.to_owned(),
                    token: r.claims,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    jobs.sort_by_key(|j| j.claim.job);
    Ok(jobs)
}

/// The condition that a claim is still the job's latest and held.
const HELD: &str = "id = ? AND state = 'running' AND lease_owner = ? AND claims = ?";

/// Runs `sql` (ending in [`HELD`]'s placeholders) for each claim in one transaction, or for
/// none: the whole call is refused when any claim is no longer held.
async fn fenced(
    pool: &SqlitePool,
    sql: String,
    claims: &[Claim],
    first: &[String],
    doing: &'static str,
) -> Result<bool> {
    let mut tx = pool.begin().await.context(doing)?;
    for claim in claims {
        let mut query = sqlx::query(assembled(sql.clone()));
        for value in first {
            query = query.bind(value);
        }
        let changed = query
            .bind(claim.job)
            .bind(&claim.owner)
            .bind(claim.token)
            .execute(&mut *tx)
            .await
            .context(doing)?
            .rows_affected();
        if changed == 0 {
            // Dropping the transaction rolls back what it did.
            return Ok(false);
        }
    }
    tx.commit().await.context(doing)?;
    Ok(true)
}

pub(crate) async fn renew(pool: &SqlitePool, claims: &[Claim], lease: Duration) -> Result<bool> {
    fenced(
        pool,
        format!("UPDATE jobs SET lease_expires_at = ?, updated_at = ? WHERE {HELD}"),
        claims,
        &[in_from_now(lease), now()],
        "renewing leases",
    )
    .await
}

pub(crate) async fn give_back(pool: &SqlitePool, claims: &[Claim]) -> Result<bool> {
    fenced(
        pool,
        format!(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_after = ?,
                             updated_at = ?, lease_owner = NULL, lease_expires_at = NULL
             WHERE {HELD}"
        ),
        claims,
        &[now(), now()],
        "giving jobs back",
    )
    .await
}

pub(crate) async fn complete(pool: &SqlitePool, claims: &[Claim]) -> Result<bool> {
    fenced(
        pool,
        format!("DELETE FROM jobs WHERE {HELD}"),
        claims,
        &[],
        "finishing jobs",
    )
    .await
}

pub(crate) async fn fail(
    pool: &SqlitePool,
    claim: &Claim,
    reason: &str,
    retry_in: Option<Duration>,
) -> Result<bool> {
    let (state, run_after) = match retry_in {
        Some(wait) => ("queued", in_from_now(wait)),
        None => ("dead", now()),
    };
    fenced(
        pool,
        format!(
            "UPDATE jobs SET state = ?, run_after = ?, error = ?, updated_at = ?,
                             lease_owner = NULL, lease_expires_at = NULL
             WHERE {HELD}"
        ),
        std::slice::from_ref(claim),
        &[state.to_owned(), run_after, reason.to_owned(), now()],
        "recording a failed job",
    )
    .await
}

pub(crate) async fn release(
    pool: &SqlitePool,
    owner: &str,
    max_attempts: u32,
) -> Result<(u64, u64)> {
    let mut tx = pool.begin().await.context("starting to release jobs")?;
    let now = now();
    let dead = sqlx::query(
        "UPDATE jobs SET state = 'dead', error = 'its worker stopped while running it, at every '
                             || 'attempt', lease_owner = NULL, lease_expires_at = NULL,
                         updated_at = ?
         WHERE state = 'running' AND lease_owner IS NOT ? AND attempts >= ?",
    )
    .bind(&now)
    .bind(owner)
    .bind(i64::from(max_attempts))
    .execute(&mut *tx)
    .await
    .context("ending the jobs a stopped worker held too often")?
    .rows_affected();
    let queued = sqlx::query(
        "UPDATE jobs SET state = 'queued', run_after = ?, lease_owner = NULL,
                         lease_expires_at = NULL, updated_at = ?
         WHERE state = 'running' AND lease_owner IS NOT ?",
    )
    .bind(&now)
    .bind(&now)
    .bind(owner)
    .execute(&mut *tx)
    .await
    .context("releasing the jobs of a stopped worker")?
    .rows_affected();
    tx.commit().await.context("committing released jobs")?;
    Ok((queued, dead))
}

pub(crate) async fn retry_dead(pool: &SqlitePool, kind: Option<JobKind>) -> Result<u64> {
    let now = now();
    Ok(sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_after = ?, updated_at = ?
         WHERE state = 'dead' AND (? IS NULL OR kind = ?)",
    )
    .bind(&now)
    .bind(&now)
    .bind(kind.map(JobKind::as_str))
    .bind(kind.map(JobKind::as_str))
    .execute(pool)
    .await
    .context("retrying dead jobs")?
    .rows_affected())
}

/// Adds `n` jobs in `state` to `counts`.
fn tally(counts: &mut JobCounts, state: &str, n: i64) {
    let n = u64::try_from(n).unwrap_or(0);
    match state {
        "queued" => counts.queued += n,
        "running" => counts.running += n,
        "dead" => counts.dead += n,
        _ => {}
    }
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
        if let Some(counts) = out.last_mut() {
            tally(counts, &state, n);
        }
    }
    Ok(out)
}

pub(crate) async fn scope_counts(
    pool: &SqlitePool,
    kind: JobKind,
    scope: &str,
) -> Result<Option<JobCounts>> {
    let mut tx = pool
        .begin()
        .await
        .context("starting to count a scope's jobs")?;
    let set: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM job_scopes WHERE kind = ? AND scope = ?")
            .bind(kind.as_str())
            .bind(scope)
            .fetch_optional(&mut *tx)
            .await
            .context("looking up a job scope")?;
    if set.is_none() {
        return Ok(None);
    }
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM jobs WHERE kind = ? AND scope = ? GROUP BY state",
    )
    .bind(kind.as_str())
    .bind(scope)
    .fetch_all(&mut *tx)
    .await
    .context("counting a scope's jobs")?;
    let mut counts = JobCounts {
        kind: kind.as_str().to_owned(),
        ..JobCounts::default()
    };
    for (state, n) in rows {
        tally(&mut counts, &state, n);
    }
    Ok(Some(counts))
}

pub(crate) async fn dead(pool: &SqlitePool, limit: u32) -> Result<Vec<JobFailure>> {
    let rows: Vec<(String, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT kind, photo_id, attempts, error FROM jobs WHERE state = 'dead'
         ORDER BY updated_at DESC, id DESC LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("listing dead jobs")?;
    Ok(rows
        .into_iter()
        .map(|(kind, photo, attempts, error)| JobFailure {
            kind,
            photo: PhotoId(photo),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            reason: error.unwrap_or_default(),
        })
        .collect())
}

/// A fenced write that found a claim no longer held.
fn refused(held: bool) -> core::Result<()> {
    if held {
        Ok(())
    } else {
        Err(core::Error::Conflict(
            "the job is no longer held by this claim: its lease ran out and another worker took it"
                .to_owned(),
        ))
    }
}

impl JobQueue for SqliteStore {
    async fn set_scopes(&self, kind: JobKind, scopes: Vec<JobScope>) -> core::Result<u64> {
        Ok(set_scopes(&self.pool, kind, scopes).await?)
    }

    async fn reconcile_jobs(&self) -> core::Result<u64> {
        Ok(reconcile(&self.pool).await?)
    }

    async fn enqueue(&self, jobs: Vec<NewJob>) -> core::Result<u64> {
        Ok(enqueue(&self.pool, jobs).await?)
    }

    async fn claim(
        &self,
        wanted: &[Wanted],
        owner: &str,
        lease: Duration,
    ) -> core::Result<Vec<Job>> {
        Ok(claim(&self.pool, wanted, owner, lease).await?)
    }

    async fn renew(&self, claims: &[Claim], lease: Duration) -> core::Result<()> {
        refused(renew(&self.pool, claims, lease).await?)
    }

    async fn complete(&self, claims: &[Claim]) -> core::Result<()> {
        refused(complete(&self.pool, claims).await?)
    }

    async fn fail(
        &self,
        claim: &Claim,
        reason: &str,
        retry_in: Option<Duration>,
    ) -> core::Result<()> {
        refused(fail(&self.pool, claim, reason, retry_in).await?)
    }

    async fn give_back(&self, claims: &[Claim]) -> core::Result<()> {
        refused(give_back(&self.pool, claims).await?)
    }

    async fn release(&self, owner: &str, max_attempts: u32) -> core::Result<(u64, u64)> {
        Ok(release(&self.pool, owner, max_attempts).await?)
    }

    async fn retry_dead(&self, kind: Option<JobKind>) -> core::Result<u64> {
        Ok(retry_dead(&self.pool, kind).await?)
    }

    async fn job_counts(&self) -> core::Result<Vec<JobCounts>> {
        Ok(counts(&self.pool).await?)
    }

    async fn scope_counts(&self, kind: JobKind, scope: &str) -> core::Result<Option<JobCounts>> {
        Ok(scope_counts(&self.pool, kind, scope).await?)
    }

    async fn dead_jobs(&self, limit: u32) -> core::Result<Vec<JobFailure>> {
        Ok(dead(&self.pool, limit).await?)
    }
}
