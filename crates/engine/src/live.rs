//! The live library: the roots watched, and every change taken through the stages — scan
//! (metadata, thumbnails), CLIP embedding, zero-shot tags and smart albums, captions — with
//! both search indices kept in step, until told to stop.
//!
//! The work of each stage is what the store says is missing, run as jobs of the queue, so a
//! pass after a crash, or after changes the watcher missed, does exactly what is left and
//! nothing twice. Captions, the slowest stage, go a few photos at a time, and so does the
//! re-embedding of a model swap, so new photos never wait behind a backlog.
//!
//! A model swap: when the configured CLIP model is not the one searches use, the library
//! embeds every photo with the new model into a new index in the background while the old
//! model and index keep answering (and keep taking new photos); when the new index is
//! complete, searches switch to it in one step.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use shoebox_core::{Captioner, MetadataStore, priority};
use shoebox_indexer::{Change, Method, RootWatcher, ScanSummary};
use shoebox_ml::Clip;
use shoebox_vector::VectorIndex;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::embed::Target;
use crate::serving::LiveSearch;
use crate::{Engine, Error, Result};

/// Photos captioned per pass before the watcher is listened to again.
const CAPTIONS_PER_PASS: u32 = 4;
/// How long to wait before scanning again when another process holds the scan lock.
const BUSY_RETRY: Duration = Duration::from_secs(5);

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
        let mut scan = true;
        let mut more = false;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if scan || more {
                let (pass, left) = match self.pass(models, live, &mut swap, scan, report).await {
                    Err(Error::Busy { .. }) => {
                        tracing::info!("another process is scanning; trying again shortly");
                        tokio::select! {
                            () = tokio::time::sleep(BUSY_RETRY) => continue,
                            _ = stop.changed() => return Ok(()),
                        }
                    }
                    other => other?,
                };
                scan = false;
                more = left;
                report(&LiveEvent::Pass(pass));
                if more {
                    // Work is left: take any change first, then go on with it.
                    while let Ok(change) = rx.try_recv() {
                        scan |= wants_scan(&change);
                    }
                    continue;
                }
                report(&LiveEvent::Idle);
            }
            tokio::select! {
                change = rx.recv() => {
                    let Some(change) = change else { return Ok(()) };
                    scan = wants_scan(&change);
                    while let Ok(change) = rx.try_recv() {
                        scan |= wants_scan(&change);
                    }
                }
                () = until(next_rescan) => {
                    scan = true;
                    next_rescan = rescan_every.map(|every| Instant::now() + every);
                }
                () = when(live.map(LiveSearch::nudged)) => more = true,
                () = when(live.map(LiveSearch::roots_moved)) => {
                    let roots: Vec<PathBuf> =
                        self.roots().await?.into_iter().map(|r| r.path).collect();
                    // The old watcher stops when replaced.
                    watcher = RootWatcher::start(&roots, &self.settings().watch, &tx)?;
                    report(&LiveEvent::Watching(watcher.methods().to_vec()));
                    scan = true;
                }
                _ = stop.changed() => {}
            }
        }
    }

    /// One pass: a scan when `scan`, then every stage's pending work (captions and a swap's
    /// re-embedding a slice at a time); returns what it did and whether work is left.
    async fn pass(
        &self,
        models: &LiveModels<'_>,
        live: Option<&LiveSearch>,
        swap: &mut Option<Swap>,
        scan: bool,
        report: &(dyn Fn(&LiveEvent) + Sync),
    ) -> Result<(Pass, bool)> {
        let mut pass = Pass::default();
        let mut more = false;
        if scan {
            pass.scan = Some(self.index(&[], &()).await?);
        }
        if let Some(live) = live {
            let clip = live.clip();
            pass.embedded = self
                .embed_into(
                    &clip,
                    Target::Live(live),
                    priority::NEW_PHOTO,
                    usize::MAX,
                    &|_, _| {},
                )
                .await?
                .embedded;
            if self.settings().tags.enabled {
                pass.tagged = self.tag_pending(&clip).await?.scored;
            }
            if let Some(s) = swap {
                pass.reembedded = self
                    .embed_into(
                        &s.clip,
                        Target::Owned(&mut s.index),
                        priority::REEMBED,
                        self.settings().watch.swap_slice.max(1),
                        &|_, _| {},
                    )
                    .await?
                    .embedded;
                let complete = self
                    .store()
                    .pending_embeddings(s.clip.model_id(), 1)
                    .await?
                    .is_empty();
                if complete && let Some(s) = swap.take() {
                    let to = s.clip.model_id().to_owned();
                    live.switch(s.clip, s.index);
                    self.set_active_model(&to)?;
                    report(&LiveEvent::Switched(to));
                }
                // After a switch, the new model's tags.
                more = true;
            }
        }
        if let Some(captioner) = models
            .captioner
            .filter(|_| self.settings().captions.enabled)
        {
            // New photos are found by their names, tags and facts before captioning (seconds a
            // photo with the larger captioners) holds them back.
            self.sync_live_text(live).await?;
            let summary = self
                .caption_pending(captioner, CAPTIONS_PER_PASS, &|_, _| {})
                .await?;
            pass.captioned = summary.captioned;
            more |= summary.captioned > 0 && summary.deferred == 0;
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
                    update.apply(&mut live.write().indices.text)?;
                }
            }
            None => self.sync_text(&mut self.open_text()?).await?,
        }
        Ok(())
    }
}

/// Every change asks for a scan of the roots (unchanged files cost a `stat` each).
fn wants_scan(change: &Change) -> bool {
    match change {
        Change::Paths(paths) => !paths.is_empty(),
        Change::Rescan => true,
    }
}

/// Completes when `live` is nudged; never without one.
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
