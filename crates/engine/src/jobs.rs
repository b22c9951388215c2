//! The stages' side of the job queue: this process's worker identity and lock, enqueuing what
//! the store says is missing, claims, and retries with backoff.
//!
//! With the embedded store one worker runs per data directory (a lock file says which); it
//! takes back, at start, the jobs a killed run still held. (With several workers on one
//! database, the leases' expiry does that.)

use std::collections::HashMap;
use std::time::Duration;

use shoebox_core::{ContentHash, Job, JobCounts, JobKind, MetadataStore, NewJob, PhotoId};

use crate::{Engine, Error, Result};

/// How long a claim holds before another worker may take the job.
const LEASE: Duration = Duration::from_secs(600);
/// Claims of a job before its failure is final.
const MAX_ATTEMPTS: u32 = 3;
/// The wait before the first retry; each further one waits four times longer.
const FIRST_RETRY: Duration = Duration::from_secs(30);

/// A job's key: the photo and the content the work is made from (the scope says for what).
pub(crate) fn job_key(photo: PhotoId, hash: &ContentHash) -> String {
    format!("{photo}:{hash}")
}

/// Work the store says is missing, by job key.
pub(crate) type Work<T> = HashMap<String, T>;

impl Engine {
    /// This process's worker id, taking the data directory's worker lock the first time and
    /// giving back the jobs a stopped run held; [`Error::Busy`] when another process works
    /// on this library.
    pub(crate) async fn worker(&self) -> Result<&str> {
        self.worker_lock
            .get_or_try_init(|| async {
                let path = self.data_dir().worker_lock();
                let lock = fs_err::File::create(&path)?;
                if lock.file().try_lock().is_err() {
                    return Err(Error::Busy {
                        path: self.data_dir().root().to_owned(),
                    });
                }
                self.check_job_kinds().await?;
                let released = self.store().release_jobs(&self.worker_id).await?;
                if released > 0 {
                    tracing::info!(released, "took back the jobs of a stopped run");
                }
                Ok(lock)
            })
            .await?;
        Ok(&self.worker_id)
    }

    /// Refuses a queue holding kinds this build has no handler for (written by a newer one).
    async fn check_job_kinds(&self) -> Result<()> {
        match unknown_kinds(&self.store().job_counts().await?).first() {
            Some(kind) => Err(Error::Library(shoebox_core::Error::Invalid(format!(
                "the job queue holds jobs of kind {kind:?}, which this version of Shoebox cannot run"
            )))),
            None => Ok(()),
        }
    }

    /// Enqueues `work` (each item's photo and key) as jobs of `kind` in `scope`.
    pub(crate) async fn enqueue<T>(
        &self,
        kind: JobKind,
        scope: &str,
        priority: i32,
        work: &Work<T>,
        photo: impl Fn(&T) -> PhotoId,
    ) -> Result<()> {
        let jobs = work
            .iter()
            .map(|(key, item)| NewJob {
                photo: photo(item),
                key: key.clone(),
                scope: scope.to_owned(),
                priority,
            })
            .collect();
        self.store().enqueue_jobs(kind, jobs).await?;
        Ok(())
    }

    /// Claims up to `limit` jobs of `kind` in `scope` for this worker.
    pub(crate) async fn claim(&self, kind: JobKind, scope: &str, limit: usize) -> Result<Vec<Job>> {
        let owner = self.worker().await?;
        let limit = u32::try_from(limit.max(1)).unwrap_or(u32::MAX);
        Ok(self
            .store()
            .claim_jobs(kind, scope, owner, limit, LEASE)
            .await?)
    }

    /// Records a failed attempt: retried after a backoff, or failed for good (kept with the
    /// reason) after [`MAX_ATTEMPTS`].
    pub(crate) async fn retry_later(&self, job: &Job, reason: &str) -> Result<()> {
        Ok(self
            .store()
            .fail_job(job.id, reason, retry_wait(job.attempts))
            .await?)
    }

    /// Removes finished jobs.
    pub(crate) async fn complete(&self, ids: Vec<i64>) -> Result<()> {
        if !ids.is_empty() {
            self.store().complete_jobs(ids).await?;
        }
        Ok(())
    }
}

/// The wait before claiming a job again after its `attempts`-th claim failed; `None` when
/// that failure is final.
fn retry_wait(attempts: u32) -> Option<Duration> {
    (attempts < MAX_ATTEMPTS).then(|| FIRST_RETRY * 4u32.pow(attempts.saturating_sub(1)))
}

/// The kinds in the queue that no handler runs: each [`JobKind`] has exactly one (a `match`
/// arm in its stage), so these are the kinds the build does not know.
fn unknown_kinds(counts: &[JobCounts]) -> Vec<&str> {
    counts
        .iter()
        .map(|c| c.kind.as_str())
        .filter(|kind| JobKind::parse(kind).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_handler_and_others_are_named() {
        let counts = |kinds: &[&str]| -> Vec<JobCounts> {
            kinds
                .iter()
                .map(|k| JobCounts {
                    kind: (*k).to_owned(),
                    ..JobCounts::default()
                })
                .collect()
        };
        let known: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
        assert!(unknown_kinds(&counts(&known)).is_empty());
        assert_eq!(
            unknown_kinds(&counts(&["embed", "transcode"])),
            ["transcode"]
        );
        for kind in JobKind::ALL {
            assert_eq!(
                JobKind::parse(kind.as_str()),
                Some(kind),
                "names round-trip"
            );
        }
    }

    #[test]
    fn retries_back_off_four_times_longer_each_time() {
        let waits: Vec<Option<Duration>> = (1..=4).map(retry_wait).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(120)),
                None,
                None
            ]
        );
    }
}
