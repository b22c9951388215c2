//! The generation queue: "more like this" requests wait in line and run one at a time on a
//! worker thread of their own, at low priority — its matrix products on one core, so indexing
//! and search keep the others —; each has a time limit, can be cancelled, and reports every sampler step.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use shoebox_core::PhotoId;
use shoebox_ml::StableDiffusion;

use crate::vary::{Varied, VaryPlan};
use crate::{Engine, Error, Result};

/// Finished requests kept for their status.
const KEPT: usize = 100;

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Waiting; `ahead` requests run first.
    Queued {
        /// Requests before this one.
        ahead: usize,
    },
    /// Making variation `variation` (from 0) of `count`, at sampler step `step` of `steps`.
    Running {
        /// The variation being made.
        variation: usize,
        /// Steps done.
        step: usize,
        /// Steps in all.
        steps: usize,
    },
    /// Made, in the generated folder.
    Done {
        /// The files made.
        made: Vec<Varied>,
    },
    /// It failed; why.
    Failed {
        /// The reason.
        reason: String,
    },
    /// Cancelled by a person, or stopped at the time limit (`timed_out`).
    Cancelled {
        /// Whether the time limit stopped it.
        timed_out: bool,
    },
}

/// A request and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobStatus {
    /// The request's id.
    pub id: u64,
    /// The photo varied.
    pub source: PhotoId,
    /// Variations asked for.
    pub count: usize,
    /// The prompt they follow.
    pub prompt: String,
    /// The first variation's seed.
    pub seed: u64,
    /// Where it stands.
    #[serde(flatten)]
    pub state: JobState,
}

impl JobStatus {
    /// Whether it has ended (done, failed or cancelled).
    pub fn finished(&self) -> bool {
        matches!(
            self.state,
            JobState::Done { .. } | JobState::Failed { .. } | JobState::Cancelled { .. }
        )
    }
}

struct Job {
    status: JobStatus,
    plan: VaryPlan,
    cancel: Arc<AtomicBool>,
}

#[derive(Default)]
struct State {
    next: u64,
    queue: VecDeque<u64>,
    jobs: BTreeMap<u64, Job>,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Counts changes, for streams of progress.
    changed: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes a job's state and tells the streams.
    fn set(&self, id: u64, state: JobState) {
        if let Some(job) = self.lock().jobs.get_mut(&id) {
            job.status.state = state;
        }
        self.changed.send_modify(|n| *n += 1);
    }
}

/// The queue and its worker; dropping it stops the worker after the running request.
pub struct Generations {
    shared: Arc<Shared>,
}

impl Generations {
    /// Starts the worker on `engine`'s library (on a Tokio runtime). It loads the Stable
    /// Diffusion model — from `model_dir`, or `[vary] model` — when the first request comes,
    /// and keeps it; a model that does not load fails that request with the reason.
    pub fn start(engine: Arc<Engine>, model_dir: Option<PathBuf>) -> Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            changed: tokio::sync::watch::channel(0).0,
        });
        let runtime = tokio::runtime::Handle::current();
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("shoebox-vary".to_owned())
            .spawn(move || work(&worker, &engine, model_dir.as_deref(), &runtime))?;
        Ok(Self { shared })
    }

    /// Queues `plan`; refused while `[vary] max_queued` requests wait.
    pub fn submit(&self, engine: &Engine, plan: VaryPlan) -> Result<JobStatus> {
        let mut state = self.shared.lock();
        let waiting = state.queue.len();
        if waiting >= engine.settings().vary.max_queued {
            return Err(Error::QueueFull { waiting });
        }
        state.next += 1;
        let id = state.next;
        let status = JobStatus {
            id,
            source: plan.source,
            count: plan.count,
            prompt: plan.variation.prompt.clone(),
            seed: plan.variation.seed,
            state: JobState::Queued { ahead: waiting },
        };
        state.queue.push_back(id);
        state.jobs.insert(
            id,
            Job {
                status: status.clone(),
                plan,
                cancel: Arc::new(AtomicBool::new(false)),
            },
        );
        // Forget the oldest finished requests beyond what is kept.
        while state.jobs.len() > KEPT {
            let Some(old) = state
                .jobs
                .iter()
                .find(|(_, j)| j.status.finished())
                .map(|(id, _)| *id)
            else {
                break;
            };
            state.jobs.remove(&old);
        }
        drop(state);
        self.shared.wake.notify_one();
        self.shared.changed.send_modify(|n| *n += 1);
        Ok(status)
    }

    /// A request's status (with its place in the queue).
    pub fn status(&self, id: u64) -> Option<JobStatus> {
        let state = self.shared.lock();
        let mut status = state.jobs.get(&id)?.status.clone();
        if let JobState::Queued { ahead } = &mut status.state {
            *ahead = state.queue.iter().position(|q| *q == id).unwrap_or(0);
        }
        Some(status)
    }

    /// Cancels a request: a waiting one at once, a running one before its next step. Whether
    /// it was still waiting or running.
    pub fn cancel(&self, id: u64) -> bool {
        let mut state = self.shared.lock();
        let Some(job) = state.jobs.get(&id) else {
            return false;
        };
        if job.status.finished() {
            return false;
        }
        job.cancel.store(true, Ordering::Relaxed);
        if let Some(at) = state.queue.iter().position(|q| *q == id) {
            state.queue.remove(at);
            drop(state);
            self.shared
                .set(id, JobState::Cancelled { timed_out: false });
        }
        true
    }

    /// A receiver that changes whenever any request moves on (for progress streams).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }
}

impl Drop for Generations {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.stop = true;
        for job in state.jobs.values() {
            job.cancel.store(true, Ordering::Relaxed);
        }
        drop(state);
        self.shared.wake.notify_all();
    }
}

/// The worker: takes requests in order until stopped.
fn work(
    shared: &Shared,
    engine: &Engine,
    model_dir: Option<&Path>,
    runtime: &tokio::runtime::Handle,
) {
    // One thread: the model's matrix products stay on one core.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().ok();
    let mut model: Option<StableDiffusion> = None;
    loop {
        let (id, plan, cancel) = {
            let mut state = shared.lock();
            loop {
                if state.stop {
                    return;
                }
                if let Some(id) = state.queue.pop_front()
                    && let Some(job) = state.jobs.get(&id)
                {
                    break (id, job.plan.clone(), Arc::clone(&job.cancel));
                }
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        if model.is_none() {
            match engine.diffusion(model_dir) {
                Ok(loaded) => model = Some(loaded),
                Err(e) => {
                    let reason = format!("the Stable Diffusion model did not load: {e}");
                    shared.set(id, JobState::Failed { reason });
                    continue;
                }
            }
        }
        let Some(model) = &model else { continue };
        let limit = Duration::from_secs(engine.settings().vary.time_limit_seconds);
        let run = || run_one(shared, engine, model, runtime, id, &plan, &cancel, limit);
        let state = match &pool {
            Some(pool) => pool.install(run),
            None => run(),
        };
        shared.set(id, state);
    }
}

#[expect(clippy::too_many_arguments, reason = "one job's whole context")]
fn run_one(
    shared: &Shared,
    engine: &Engine,
    model: &StableDiffusion,
    runtime: &tokio::runtime::Handle,
    id: u64,
    plan: &VaryPlan,
    cancel: &AtomicBool,
    limit: Duration,
) -> JobState {
    let deadline = Instant::now() + limit;
    let timed_out = AtomicBool::new(false);
    // A limit of 0 stops before the first step.
    if limit.is_zero() {
        timed_out.store(true, Ordering::Relaxed);
        cancel.store(true, Ordering::Relaxed);
    }
    shared.set(
        id,
        JobState::Running {
            variation: 0,
            step: 0,
            steps: 0,
        },
    );
    let made = engine.vary_photo(model, plan, cancel, &mut |variation, step, steps| {
        shared.set(
            id,
            JobState::Running {
                variation,
                step,
                steps,
            },
        );
        if Instant::now() >= deadline {
            timed_out.store(true, Ordering::Relaxed);
            cancel.store(true, Ordering::Relaxed);
        }
    });
    match made {
        Ok(made) => match runtime.block_on(engine.record_variations(plan, model.model_id(), &made))
        {
            Ok(()) => JobState::Done { made },
            Err(e) => JobState::Failed {
                reason: e.to_string(),
            },
        },
        Err(Error::Model(shoebox_ml::Error::Cancelled)) => JobState::Cancelled {
            timed_out: timed_out.load(Ordering::Relaxed),
        },
        Err(e) => JobState::Failed {
            reason: e.to_string(),
        },
    }
}
