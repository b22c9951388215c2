//! The job queue port: what the pipeline's workers, progress and `shoebox status` need of the
//! durable queue. Implemented by `shoebox-store` beside [`crate::MetadataStore`], on the same
//! database, so a job appears in the same transaction as the change that makes its work.

use std::future::Future;
use std::time::Duration;

use crate::{Claim, Job, JobCounts, JobFailure, JobKind, JobScope, NewJob, Result, Wanted};

/// The durable job queue.
///
/// Every method is one transaction. Claims are fenced: a claim is the job's id, its holder and
/// a token that every claim of the job raises; once a lease has expired and another worker
/// has claimed the job, the first worker's [`complete`](Self::complete), [`fail`](Self::fail),
/// [`renew`](Self::renew) and [`give_back`](Self::give_back) are refused with
/// [`crate::Error::Conflict`] and change nothing.
pub trait JobQueue: Send + Sync {
    /// Makes `scopes` the scopes of `kind` work is kept for: a scope new to the list gets a
    /// job for each usable photo lacking its data (the one pass over the library a scope ever
    /// costs); a scope no longer listed loses its jobs. Returns the jobs enqueued.
    fn set_scopes(
        &self,
        kind: JobKind,
        scopes: Vec<JobScope>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// The periodic reconciliation: enqueues, for every set scope, the work a job is missing
    /// for (none, unless something bypassed the store). Returns the jobs enqueued.
    fn reconcile_jobs(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Enqueues work by hand; the same work twice is one job. Returns the jobs added.
    fn enqueue(&self, jobs: Vec<NewJob>) -> impl Future<Output = Result<u64>> + Send;

    /// Claims for `owner`, under a lease of `lease`, jobs of the highest priority among
    /// `wanted` that are queued and due, or whose lease has expired: up to that kind's limit,
    /// all of one kind and scope. Each claim counts an attempt.
    fn claim(
        &self,
        wanted: &[Wanted],
        owner: &str,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Job>>> + Send;

    /// Extends the leases of `claims` to `lease` from now; refused (nothing renewed) when any
    /// of them is no longer held.
    fn renew(&self, claims: &[Claim], lease: Duration) -> impl Future<Output = Result<()>> + Send;

    /// Finishes `claims`' jobs (they leave the queue); refused (nothing finished) when any of
    /// them is no longer held.
    fn complete(&self, claims: &[Claim]) -> impl Future<Output = Result<()>> + Send;

    /// Records a failed attempt: queued again after `retry_in`, or dead with `reason` when
    /// `None`; refused when the claim is no longer held.
    fn fail(
        &self,
        claim: &Claim,
        reason: &str,
        retry_in: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Queues `claims`' jobs again at once without counting the attempt (the worker could not
    /// record its results: the store was unavailable); refused when any is no longer held.
    fn give_back(&self, claims: &[Claim]) -> impl Future<Output = Result<()>> + Send;

    /// Takes back the jobs running under any owner but `owner` (a stopped run of this
    /// library's only worker): those with attempts left are queued again, the others are dead
    /// with a reason saying their worker stopped while running them. Returns (queued, dead).
    fn release(
        &self,
        owner: &str,
        max_attempts: u32,
    ) -> impl Future<Output = Result<(u64, u64)>> + Send;

    /// Queues dead jobs again with their attempts reset (of `kind`, or every kind). Returns
    /// how many.
    fn retry_dead(&self, kind: Option<JobKind>) -> impl Future<Output = Result<u64>> + Send;

    /// Jobs by kind and state, counted.
    fn job_counts(&self) -> impl Future<Output = Result<Vec<JobCounts>>> + Send;

    /// The jobs of one kind and scope by state, counted, when the scope is set (then every
    /// usable photo whose data for it is not current has one); `None` when it is not.
    fn scope_counts(
        &self,
        kind: JobKind,
        scope: &str,
    ) -> impl Future<Output = Result<Option<JobCounts>>> + Send;

    /// Dead jobs, newest first, at most `limit`.
    fn dead_jobs(&self, limit: u32) -> impl Future<Output = Result<Vec<JobFailure>>> + Send;
}
