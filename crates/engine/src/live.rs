//! The live library: the roots watched, and every change taken through the stages — scan
//! (metadata, thumbnails), CLIP embedding, zero-shot tags and smart albums, captions — with
//! both search indices kept in step, until told to stop.
//!
//! The work of each stage is jobs of the queue, enqueued by the store as photos appear and
//! change, so a pass after a crash does exactly what is left and nothing twice. Jobs run most
//! urgent first across stages (new photos, then a swap's re-embedding, then captions), and a
//! pass yields to the watcher between claims, so new photos never wait behind a backlog.
//!
//! Faults are data: a job that fails is retried and then dead (see `jobs.rs`); a pass that
//! fails — the store locked by another program, a full disk — is tried again after a backoff
//! (a second, doubling to a minute) while searches go on from memory, and
//! [`Engine::degraded`] says what is wrong and since when. Only a stop request ends the loop.
//!
//! A model swap: when the configured CLIP model is not the one searches use, the library
//! embeds every photo with the new model into a new index in the background while the old
//! model and index keep answering (and keep taking new photos); when the new index is
//! complete, searches switch to it in one step.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use shoebox_core::{Captioner, JobKind, JobQueue, PhotoId, priority};
use shoebox_indexer::{Change, Method, RootWatcher, ScanSummary};
use shoebox_ml::Clip;
use shoebox_vector::VectorIndex;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::embed::Target;
use crate::jobs::{Embedder, Handlers};
use crate::serving::LiveSearch;
use crate::{Degraded, Engine, Error, Result};

/// How long to wait before scanning again when another process holds the scan lock.
const BUSY_RETRY: Duration = Duration::from_secs(5);
/// The longest wait between tries of a failing pass.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The models the live library runs; each stage without its model is skipped.
#[derive(Clone, Default)]
pub struct LiveModels<'a> {
    /// The configured CLIP model (embeddings, tags, albums, search); when live searches use
    /// another one, the library swaps to this one.
    pub clip: Option<Arc<Clip>>,
    /// Captions.
    pub captioner: Option<&'a dyn Captioner>,
}

/// What one pass through the stages did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// The scan, when this pass scanned.
    pub scan: Option<ScanSummary>,
    /// Photos embedded with the model searches use.
    pub embedded: usize,
    /// Photos embedded with the model being swapped in.
    pub reembedded: usize,
    /// Photos scored for zero-shot tags and albums.
    pub tagged: usize,
    /// Captions written.
    pub captioned: usize,
}

/// What the live library tells its caller.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// Watching began: each root and how it is watched.
    Watching(Vec<(PathBuf, Method)>),
    /// A model swap began: every photo is embedded with `to` while `from` answers.
    Swapping {
        /// The model searches use meanwhile.
        from: String,
        /// The model being swapped in.
        to: String,
    },
    /// Searches now use this model.
    Switched(String),
    /// A pass finished.
    Pass(Pass),
    /// The library is up to date and waits for changes.
    Idle,
    /// A pass failed (the store unavailable, say): the library waits and tries again, while
    /// searches go on from memory.
    Degraded(Degraded),
    /// A pass succeeded after failures.
    Recovered,
}

/// A model swap under way: the model and its index being filled.
struct Swap {
    clip: Arc<Clip>,
    index: VectorIndex,
}

impl Engine {
    /// The CLIP model live searches last used (see [`Self::watch`]), if recorded.
    pub fn active_model(&self) -> Option<String> {
        fs_err::read_to_string(self.data_dir().active_model())
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    fn set_active_model(&self, model_id: &str) -> Result<()> {
        let path = self.data_dir().active_model();
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir)?;
        }
        let partial = path.with_extension("partial");
        fs_err::write(&partial, model_id)?;
        fs_err::rename(&partial, &path)?;
        Ok(())
    }

    /// Opens what live searches read for `clip`: its vector index and the text index.
    pub async fn live_search(&self, clip: Arc<Clip>) -> Result<LiveSearch> {
        let indices = self.indices(&clip).await?;
        Ok(LiveSearch::new(clip, indices))
    }

    /// Watches every root and keeps the library current — a reconciliation scan at start-up,
    /// then each change through every stage — until `stop` turns true. `live` (opened here
    /// when not given and there is a CLIP model) is kept in step as results land, so its
    /// searches see new photos within the debounce time plus a pass; when its model is not
    /// `models.clip`, the library swaps models. `report` hears of each pass.
    pub async fn watch(
        &self,
        models: &LiveModels<'_>,
        live: Option<&LiveSearch>,
        mut stop: tokio::sync::watch::Receiver<bool>,
        report: &(dyn Fn(&LiveEvent) + Sync),
    ) -> Result<()> {
        let roots: Vec<PathBuf> = self.roots().await?.into_iter().map(|r| r.path).collect();
        if roots.is_empty() {
            return Err(Error::Library(shoebox_core::Error::Invalid(
                "no library roots yet: add a photo folder first".to_owned(),
            )));
        }
        // One live library per data directory; what a killed run held is taken back.
        self.worker().await?;
        if let Some(clip) = &models.clip {
            // Progress reports on the model this library embeds with (a --model-dir too).
            *self
                .embedding_model
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(clip.model_id().to_owned());
        }
        let own;
        let live = match (live, &models.clip) {
            (Some(live), _) => Some(live),
            (None, Some(clip)) => {
                own = self.live_search(Arc::clone(clip)).await?;
                Some(&own)
            }
            (None, None) => None,
        };
        let mut swap = None;
        if let (Some(live), Some(target)) = (live, &models.clip) {
            let from = live.model_id();
            if from == target.model_id() {
                self.set_active_model(&from)?;
            } else {
                report(&LiveEvent::Swapping {
                    from,
                    to: target.model_id().to_owned(),
                });
                swap = Some(Swap {
                    clip: Arc::clone(target),
                    index: self.open_vector(target.model_id(), target.dim()).await?,
                });
            }
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut watcher = RootWatcher::start(&roots, &self.settings().watch, &tx)?;
        report(&LiveEvent::Watching(watcher.methods().to_vec()));
        let rescan_every = match self.settings().watch.rescan_minutes {
            0 => None,
            minutes => Some(Duration::from_secs(minutes * 60)),
        };
        let mut next_rescan = rescan_every.map(|every| Instant::now() + every);
        // The start-up reconciliation.
        let mut scan = ToScan::All;
        let mut more = false;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if scan.any() || more {
                let changes = || !rx.is_empty() || *stop.borrow();
                let (pass, left) = match self
                    .pass(models, live, &mut swap, &scan, &changes, report)
                    .await
                {
                    Ok(done) => done,
                    Err(Error::Busy { .. }) => {
                        tracing::info!("another process is scanning; trying again shortly");
                        tokio::select! {
                            () = tokio::time::sleep(BUSY_RETRY) => continue,
                            _ = stop.changed() => return Ok(()),
                        }
                    }
                    // Faults are data: the pass is tried again after a backoff (the scan
                    // too, when it was one), while searches go on from memory.
                    Err(e) => {
                        let degraded = self.health.failed(fault_reason(&e));
                        tracing::warn!(failures = degraded.failures, "a pass failed: {e}");
                        report(&LiveEvent::Degraded(degraded.clone()));
                        tokio::select! {
                            () = tokio::time::sleep(backoff(degraded.failures)) => continue,
                            _ = stop.changed() => return Ok(()),
                        }
                    }
                };
                if let Some(was) = self.health.recovered() {
                    tracing::info!(failures = was.failures, "the live library recovered");
                    report(&LiveEvent::Recovered);
                }
                scan = ToScan::Nothing;
                more = left;
                report(&LiveEvent::Pass(pass));
                if more {
                    // Work is left: take any change first, then go on with it.
                    while let Ok(change) = rx.try_recv() {
                        scan.add(change);
                    }
                    continue;
                }
                report(&LiveEvent::Idle);
            }
            tokio::select! {
                change = rx.recv() => {
                    let Some(change) = change else { return Ok(()) };
                    scan.add(change);
                    while let Ok(change) = rx.try_recv() {
                        scan.add(change);
                    }
                }
                () = until(next_rescan) => {
                    scan = ToScan::All;
                    next_rescan = rescan_every.map(|every| Instant::now() + every);
                    // The periodic reconciliation of the queue with the library, beside the
                    // scan's with the disk.
                    match self.queue().reconcile_jobs().await {
                        Ok(0) => {}
                        Ok(n) => tracing::warn!(enqueued = n, "reconciliation found work no job held"),
                        Err(e) => tracing::warn!("could not reconcile the job queue: {e}"),
                    }
                }
                () = when(live.map(LiveSearch::nudged)) => more = true,
                () = when(live.map(LiveSearch::roots_moved)) => {
                    scan = ToScan::All;
                    match self.roots().await.and_then(|roots| {
                        let roots: Vec<PathBuf> = roots.into_iter().map(|r| r.path).collect();
                        Ok(RootWatcher::start(&roots, &self.settings().watch, &tx)?)
                    }) {
                        // The old watcher stops when replaced.
                        Ok(new) => {
                            watcher = new;
                            report(&LiveEvent::Watching(watcher.methods().to_vec()));
                        }
                        Err(e) => tracing::warn!("could not watch the new roots: {e}"),
                    }
                }
                _ = stop.changed() => {}
            }
        }
    }

    /// One pass: the scan `scan` asks for, then the queue's jobs, most urgent first, until none is
    /// left or `changes` says a change waits; returns what it did and whether work is left.
    async fn pass(
        &self,
        models: &LiveModels<'_>,
        live: Option<&LiveSearch>,
        swap: &mut Option<Swap>,
        scan: &ToScan,
        changes: &(dyn Fn() -> bool + Sync),
        report: &(dyn Fn(&LiveEvent) + Sync),
    ) -> Result<(Pass, bool)> {
        let mut pass = Pass::default();
        let summary = match scan {
            ToScan::Nothing => None,
            ToScan::Folders(paths) => Some(self.index_changes(paths).await?),
            ToScan::All => Some(self.index(&[], &()).await?),
        };
        let stale: Vec<PhotoId> = summary
            .as_ref()
            .map(|s| s.stale.clone())
            .unwrap_or_default();
        pass.scan = summary;
        // New photos are found by their names, tags and facts before the models (seconds a
        // photo with the larger captioners) hold them back.
        self.sync_live_text(live).await?;
        let clip = live.map(LiveSearch::clip);
        let mut embed = Vec::new();
        if let (Some(live), Some(clip)) = (live, &clip) {
            embed.push(Embedder {
                clip,
                target: Target::Live(live),
                priority: priority::NEW_PHOTO,
            });
        }
        if let Some(s) = swap.as_mut() {
            embed.push(Embedder {
                clip: &s.clip,
                target: Target::Owned(&mut s.index),
                priority: priority::REEMBED,
            });
        }
        let mut handlers = Handlers {
            owns: &JobKind::ALL,
            embed,
            tag: clip.as_deref(),
            caption: models.captioner,
        };
        let ran = self.run_jobs(&mut handlers, changes, &|_, _| {}).await?;
        for e in &mut handlers.embed {
            let model = e.clip.model_id();
            let embedded = ran.done(JobKind::Embed, Some(model));
            let dropped = !stale.is_empty()
                && self
                    .drop_stale_vectors(model, &mut e.target, Some(&stale))
                    .await?;
            if embedded > 0 || dropped {
                self.save_changed_vectors(model, &mut e.target).await?;
            }
        }
        drop(handlers);
        if let Some(clip) = &clip {
            pass.embedded = ran.done(JobKind::Embed, Some(clip.model_id()));
        }
        pass.tagged = ran.done(JobKind::Tag, None);
        pass.captioned = ran.done(JobKind::Caption, None);
        let mut more = ran.yielded;
        if let (Some(live), Some(s)) = (live, swap.as_ref()) {
            let to = s.clip.model_id().to_owned();
            pass.reembedded = ran.done(JobKind::Embed, Some(&to));
            // Photos whose job is dead do not hold the swap back: they are shown as failures.
            let left = self.queue().scope_counts(JobKind::Embed, &to).await?;
            if !ran.yielded
                && left.is_some_and(|c| c.queued + c.running == 0)
                && let Some(s) = swap.take()
            {
                live.switch(s.clip, s.index);
                self.set_active_model(&to)?;
                report(&LiveEvent::Switched(to));
                // The new model's tags.
                more = true;
            }
        }
        self.sync_live_text(live).await?;
        Ok((pass, more))
    }

    /// Brings the text index (the live search's, or the one on disk) up to the store.
    async fn sync_live_text(&self, live: Option<&LiveSearch>) -> Result<()> {
        match live {
            Some(live) => {
                let seen = live.read().indices.text.watermark().map_err(Error::Text)?;
                if let Some(update) = self.text_update(seen.as_deref()).await? {
                    // Under the read lock: the text index writes and commits beside searches.
                    update.apply(&live.read().indices.text)?;
                }
            }
            None => self.sync_text(&mut self.open_text()?).await?,
        }
        Ok(())
    }
}

/// The wait before trying a failing pass again: a second, doubling to a minute.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(MAX_BACKOFF)
}

/// What a person is shown of a failed pass (the log has the details).
fn fault_reason(e: &Error) -> String {
    if e.is_transient() {
        "the library's database or data folder is unavailable (another program may hold the \
         database locked); retrying"
            .to_owned()
    } else {
        "a pass over the library failed; retrying (the log has the details)".to_owned()
    }
}

/// Changed paths beyond which a pass scans every root instead.
const MAX_CHANGED_PATHS: usize = 10_000;

/// What the next pass scans.
#[derive(Debug, Default)]
enum ToScan {
    /// Nothing changed.
    #[default]
    Nothing,
    /// The folders of these changed paths (unchanged files in them cost a `stat` each).
    Folders(Vec<PathBuf>),
    /// Every root: at start-up, on schedule, when the roots changed or events were lost.
    All,
}

impl ToScan {
    fn any(&self) -> bool {
        !matches!(self, Self::Nothing)
    }

    fn add(&mut self, change: Change) {
        match change {
            Change::Rescan => *self = Self::All,
            Change::Paths(paths) if paths.is_empty() => {}
            Change::Paths(paths) => match self {
                Self::All => {}
                Self::Nothing => *self = Self::Folders(paths),
                Self::Folders(known) => known.extend(paths),
            },
        }
        if matches!(self, Self::Folders(paths) if paths.len() > MAX_CHANGED_PATHS) {
            *self = Self::All;
        }
    }
}

/// Completes with `wait`; never when there is nothing to wait for (no live search).
async fn when(wait: Option<impl std::future::Future<Output = ()>>) {
    match wait {
        Some(wait) => wait.await,
        None => std::future::pending().await,
    }
}

/// Waits until `at`, or forever when there is no such time.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
