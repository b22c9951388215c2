//! The pipeline's side of the job system: this process's worker (identity, lock, the claims it
//! could not settle), the scopes the queue keeps work for, the registry that gives each kind
//! its one handler, and the fault policy.
//!
//! Faults are data: a job whose handler fails — an unreadable photo, a model error, a panic —
//! is retried after a backoff (`[jobs]`: by default 30 s, then 2 min) and is dead with its
//! reason after its attempts (3 by default); when a batch fails, its jobs run again one at a time, so one bad photo
//! never holds back the others. A store that is unavailable (locked by another program) is
//! not the jobs' fault: their claims are given back without counting an attempt as soon as
//! the store answers, and the caller backs off.
//!
//! With the embedded store one worker runs per data directory (a lock file says which); at
//! start it takes back the jobs a killed run still held — dead, if that run was their last
//! attempt, so a photo that kills the process cannot make it crash in a loop.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use shoebox_core::{
    Captioner, Claim, Job, JobCounts, JobKind, JobQueue, JobScope, PhotoId, Wanted, priority,
};
use shoebox_ml::Clip;

use crate::embed::Target;
use crate::{Engine, Error, JobSettings, Result};

/// How long a claim holds before another worker may take the job (renewed while it runs).
pub(crate) const LEASE: Duration = Duration::from_secs(600);
/// Tag jobs per claim (scoring is cheap; one store transaction each).
const TAGS_PER_CLAIM: u32 = 500;

/// What a handler made of one job: done (or nothing left to do), or why it failed.
pub(crate) type Outcome = std::result::Result<(), String>;

/// An embedding model this worker runs, and the vector index its vectors go into.
pub(crate) struct Embedder<'a> {
    pub(crate) clip: &'a Clip,
    pub(crate) target: Target<'a>,
    pub(crate) priority: i32,
}

/// The handlers a run has, one per kind, and the kinds whose scopes it sets (a kind it owns
/// but has no model for loses its jobs; a kind it does not own is left as it is).
pub(crate) struct Handlers<'a> {
    pub(crate) owns: &'a [JobKind],
    pub(crate) embed: Vec<Embedder<'a>>,
    /// Tags score the embeddings of this model (the one searches use).
    pub(crate) tag: Option<&'a Clip>,
    pub(crate) caption: Option<&'a dyn Captioner>,
}

/// What a run of jobs did.
#[derive(Debug, Default)]
pub(crate) struct Ran {
    /// Jobs finished, by kind and scope.
    pub(crate) done: Vec<(JobKind, String, usize)>,
    /// Failed attempts: the kind, the photo and why.
    pub(crate) failed: Vec<(JobKind, PhotoId, String)>,
    /// Caption languages the captioner does not write.
    pub(crate) unsupported_languages: Vec<String>,
    /// Caption jobs left for the hours of `captions.utc_hours`.
    pub(crate) deferred: usize,
    /// Whether the run stopped with jobs left, to let the caller see to a change.
    pub(crate) yielded: bool,
}

impl Ran {
    /// Jobs of `kind` (and `scope`, when given) finished.
    pub(crate) fn done(&self, kind: JobKind, scope: Option<&str>) -> usize {
        self.done
            .iter()
            .filter(|(k, s, _)| *k == kind && scope.is_none_or(|scope| scope == s))
            .map(|(_, _, n)| n)
            .sum()
    }

    fn count(&mut self, job: &Job) {
        match self
            .done
            .iter_mut()
            .find(|(k, s, _)| *k == job.kind && *s == job.scope)
        {
            Some((_, _, n)) => *n += 1,
            None => self.done.push((job.kind, job.scope.clone(), 1)),
        }
    }
}

/// Why a batch could not be handled.
enum Fault {
    /// The store (or the data directory) is unavailable: not the jobs' fault.
    Unavailable(Error),
    /// The handler failed or panicked.
    Failed(String),
}

impl Engine {
    /// The job queue.
    pub fn queue(&self) -> &impl JobQueue {
        &self.store
    }

    /// This process's worker id, taking the data directory's worker lock the first time and
    /// taking back the jobs a stopped run held; [`Error::Busy`] when another process works
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
                let max_attempts = self.settings().jobs.max_attempts;
                let (queued, dead) = self.queue().release(&self.worker_id, max_attempts).await?;
                if queued + dead > 0 {
                    tracing::info!(queued, dead, "took back the jobs of a stopped run");
                }
                Ok(lock)
            })
            .await?;
        Ok(&self.worker_id)
    }

    /// Refuses a queue holding kinds this build has no handler for (written by a newer one).
    async fn check_job_kinds(&self) -> Result<()> {
        match unknown_kinds(&self.queue().job_counts().await?).first() {
            Some(kind) => Err(Error::Library(shoebox_core::Error::Invalid(format!(
                "the job queue holds jobs of kind {kind:?}, which this version of Shoebox cannot run"
            )))),
            None => Ok(()),
        }
    }

    /// Queues the dead jobs (of `kind`, or all) again with fresh attempts; how many.
    pub async fn retry_dead_jobs(&self, kind: Option<JobKind>) -> Result<u64> {
        Ok(self.queue().retry_dead(kind).await?)
    }

    /// Sets the scopes of the kinds `handlers` owns and says what to claim for them.
    async fn scopes(&self, handlers: &Handlers<'_>, ran: &mut Ran) -> Result<Vec<Wanted>> {
        let mut scopes: Vec<JobScope> = Vec::new();
        let mut wanted = Vec::new();
        let batch = u32::try_from(self.settings().models.batch_size.max(1)).unwrap_or(u32::MAX);
        for e in &handlers.embed {
            let model = e.clip.model_id().to_owned();
            scopes.push(scope(JobKind::Embed, &model, &model, "", e.priority));
        }
        if let Some(clip) = handlers.tag.filter(|_| self.settings().tags.enabled) {
            let tagger = self.tagger(clip.model_id()).await?;
            scopes.push(scope(
                JobKind::Tag,
                &tagger,
                clip.model_id(),
                "",
                priority::NEW_PHOTO,
            ));
        }
        let captions = &self.settings().captions;
        if let Some(captioner) = handlers.caption.filter(|_| captions.enabled) {
            for lang in &captions.languages {
                if captioner.writes(lang) {
                    let name = format!("{}:{lang}", captioner.model_id());
                    scopes.push(scope(
                        JobKind::Caption,
                        &name,
                        captioner.model_id(),
                        lang,
                        priority::CAPTION,
                    ));
                } else {
                    ran.unsupported_languages.push(lang.clone());
                }
            }
        }
        for &kind in handlers.owns {
            let of_kind: Vec<JobScope> =
                scopes.iter().filter(|s| s.kind == kind).cloned().collect();
            let enqueued = self.queue().set_scopes(kind, of_kind).await?;
            if enqueued > 0 {
                tracing::info!(%kind, enqueued, "enqueued the work of a new scope");
            }
        }
        let in_hours = crate::captions::in_caption_hours(captions)?;
        for s in scopes {
            let limit = match s.kind {
                JobKind::Embed => batch,
                JobKind::Tag => TAGS_PER_CLAIM,
                // One at a time: a caption takes seconds, and new photos go first.
                JobKind::Caption => 1,
            };
            if s.kind == JobKind::Caption && !in_hours {
                let waiting = self.queue().scope_counts(s.kind, &s.scope).await?;
                let queued = waiting.map_or(0, |c| c.queued);
                ran.deferred += usize::try_from(queued).unwrap_or(usize::MAX);
                continue;
            }
            wanted.push(Wanted {
                kind: s.kind,
                scope: s.scope,
                limit,
            });
        }
        Ok(wanted)
    }

    /// Runs the jobs of `handlers`' scopes, most urgent first across kinds, until none is left
    /// or `should_yield` says a change waits (checked between claims). `progress(done,
    /// total)` counts the jobs settled out of those waiting at the start.
    pub(crate) async fn run_jobs(
        &self,
        handlers: &mut Handlers<'_>,
        should_yield: &(dyn Fn() -> bool + Sync),
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Ran> {
        let owner = self.worker().await?.to_owned();
        self.give_back_held().await?;
        let mut ran = Ran::default();
        let wanted = self.scopes(handlers, &mut ran).await?;
        let mut total = 0;
        for w in &wanted {
            let counts = self.queue().scope_counts(w.kind, &w.scope).await?;
            let waiting = counts.map_or(0, |c| c.queued + c.running);
            total += usize::try_from(waiting).unwrap_or(usize::MAX);
        }
        let mut settled = 0;
        progress(0, total);
        loop {
            if should_yield() {
                ran.yielded = true;
                break;
            }
            let jobs = self.queue().claim(&wanted, &owner, LEASE).await?;
            if jobs.is_empty() {
                break;
            }
            self.hold(jobs.iter().map(|j| j.claim.clone()).collect());
            settled += jobs.len();
            self.run_claimed(handlers, jobs, &mut ran).await?;
            self.hold(Vec::new());
            progress(settled.min(total), total.max(settled));
        }
        Ok(ran)
    }

    /// Runs one claim's jobs and settles each; a failed batch runs again a job at a time.
    async fn run_claimed(
        &self,
        handlers: &mut Handlers<'_>,
        jobs: Vec<Job>,
        ran: &mut Ran,
    ) -> Result<()> {
        match self.guarded(handlers, &jobs).await {
            Ok(outcomes) => self.settle(&jobs, outcomes, ran).await,
            Err(Fault::Unavailable(e)) => Err(e),
            Err(Fault::Failed(reason)) if jobs.len() == 1 => {
                self.settle(&jobs, vec![Err(reason)], ran).await
            }
            Err(Fault::Failed(reason)) => {
                tracing::warn!(
                    jobs = jobs.len(),
                    "a batch failed ({reason}); one at a time"
                );
                for job in jobs {
                    let one = std::slice::from_ref(&job);
                    let outcomes = match self.guarded(handlers, one).await {
                        Ok(outcomes) => outcomes,
                        Err(Fault::Unavailable(e)) => return Err(e),
                        Err(Fault::Failed(reason)) => vec![Err(reason)],
                    };
                    self.settle(one, outcomes, ran).await?;
                }
                Ok(())
            }
        }
    }

    /// The registry: each kind's one handler, run with panics caught and the claims' leases
    /// renewed while it runs (between its steps).
    async fn guarded(
        &self,
        handlers: &mut Handlers<'_>,
        jobs: &[Job],
    ) -> std::result::Result<Vec<Outcome>, Fault> {
        let Some(first) = jobs.first() else {
            return Ok(Vec::new());
        };
        let (kind, scope) = (first.kind, first.scope.clone());
        let work = async {
            match kind {
                JobKind::Embed => match handlers
                    .embed
                    .iter_mut()
                    .find(|e| e.clip.model_id() == scope)
                {
                    Some(embedder) => self.embed_jobs(embedder, jobs).await,
                    None => Err(no_handler(kind, &scope)),
                },
                JobKind::Tag => match handlers.tag {
                    Some(clip) => self.tag_jobs(clip, jobs).await,
                    None => Err(no_handler(kind, &scope)),
                },
                JobKind::Caption => match handlers.caption {
                    Some(captioner) => self.caption_jobs(captioner, jobs).await,
                    None => Err(no_handler(kind, &scope)),
                },
            }
        };
        let claims: Vec<Claim> = jobs.iter().map(|j| j.claim.clone()).collect();
        let work = AssertUnwindSafe(work).catch_unwind();
        tokio::pin!(work);
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                () = tokio::time::sleep(LEASE / 3) => {
                    if let Err(e) = self.queue().renew(&claims, LEASE).await {
                        tracing::warn!("could not renew a lease: {e}");
                    }
                }
            }
        };
        match result {
            Ok(Ok(outcomes)) => Ok(outcomes),
            Ok(Err(e)) if e.is_transient() => Err(Fault::Unavailable(e)),
            Ok(Err(e)) => Err(Fault::Failed(e.to_string())),
            Err(panic) => Err(Fault::Failed(format!(
                "the {kind} handler panicked: {}",
                panic_message(panic.as_ref())
            ))),
        }
    }

    /// Finishes the jobs that succeeded and records the failures with the retry policy. A
    /// claim lost meanwhile (its lease ran out and another worker took it) is left to that
    /// worker.
    async fn settle(&self, jobs: &[Job], outcomes: Vec<Outcome>, ran: &mut Ran) -> Result<()> {
        let mut finished = Vec::with_capacity(jobs.len());
        for (job, outcome) in jobs.iter().zip(outcomes) {
            match outcome {
                Ok(()) => finished.push(job),
                Err(reason) => {
                    tracing::warn!(kind = %job.kind, photo = %job.photo, attempt = job.attempts,
                        "job failed: {reason}");
                    let retry = retry_wait(&self.settings().jobs, job.attempts);
                    lost_is_fine(self.queue().fail(&job.claim, &reason, retry).await)?;
                    ran.failed.push((job.kind, job.photo, reason));
                }
            }
        }
        let claims: Vec<Claim> = finished.iter().map(|j| j.claim.clone()).collect();
        match self.queue().complete(&claims).await {
            Err(shoebox_core::Error::Conflict(_)) => {
                for job in &finished {
                    lost_is_fine(
                        self.queue()
                            .complete(std::slice::from_ref(&job.claim))
                            .await,
                    )?;
                }
            }
            other => other?,
        }
        for job in finished {
            ran.count(job);
        }
        Ok(())
    }

    /// Notes the claims in hand, to give back should the store fail before they settle.
    fn hold(&self, claims: Vec<Claim>) {
        *self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = claims;
    }

    /// Gives back the claims a failed run could not settle, now that the store may answer.
    async fn give_back_held(&self) -> Result<()> {
        let held = std::mem::take(
            &mut *self
                .held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if held.is_empty() {
            return Ok(());
        }
        match self.queue().give_back(&held).await {
            Ok(()) => Ok(()),
            // Some settled before the store failed (or were taken over): the rest one by one.
            Err(shoebox_core::Error::Conflict(_)) => {
                for claim in &held {
                    lost_is_fine(self.queue().give_back(std::slice::from_ref(claim)).await)?;
                }
                Ok(())
            }
            Err(e) => {
                self.hold(held);
                Err(e.into())
            }
        }
    }
}

fn scope(kind: JobKind, name: &str, model: &str, lang: &str, priority: i32) -> JobScope {
    JobScope {
        kind,
        scope: name.to_owned(),
        model: model.to_owned(),
        lang: lang.to_owned(),
        priority,
    }
}

/// A job claimed for a scope whose model this run lacks (the claim asks only for the
/// scopes it has, so this is a bug worth a failure, not a crash).
fn no_handler(kind: JobKind, scope: &str) -> Error {
    Error::Library(shoebox_core::Error::Invalid(format!(
        "no {kind} handler for scope {scope:?} in this worker"
    )))
}

/// A fenced write refused because the claim was lost is no error of this worker's.
fn lost_is_fine(result: shoebox_core::Result<()>) -> Result<()> {
    match result {
        Err(shoebox_core::Error::Conflict(why)) => {
            tracing::info!("{why}");
            Ok(())
        }
        other => Ok(other?),
    }
}

/// The text of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// The wait before claiming a job again after its `attempts`-th attempt failed; `None` when
/// that failure makes it dead.
fn retry_wait(policy: &JobSettings, attempts: u32) -> Option<Duration> {
    let first = Duration::from_secs(policy.first_retry_seconds);
    (attempts < policy.max_attempts).then(|| first * 4u32.pow(attempts.saturating_sub(1).min(8)))
}

/// The kinds in the queue that no handler runs: those the build does not know.
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
    fn kinds_this_build_does_not_know_are_named() {
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
    }

    #[test]
    fn retries_back_off_four_times_longer_each_time() {
        let policy = JobSettings {
            max_attempts: 3,
            first_retry_seconds: 30,
        };
        let waits: Vec<Option<Duration>> = (1..=4).map(|a| retry_wait(&policy, a)).collect();
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

    #[test]
    fn a_panic_s_message_is_kept() {
        let caught = std::panic::catch_unwind(|| panic!("bad {}", "pixels"));
        let message = caught.err().map(|p| panic_message(p.as_ref()));
        assert_eq!(message.as_deref(), Some("bad pixels"));
    }
}
