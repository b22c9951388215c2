//! The live library: the roots watched, and every change taken through the stages — scan
//! (metadata, thumbnails), CLIP embedding, zero-shot tags, captions — with both search indices
//! kept in step, until told to stop.
//!
//! The work of each stage is what the store says is missing (`pending_*`), so a pass after a
//! crash, or after changes the watcher missed, does exactly what is left and nothing twice.
//! Captions, the slowest stage, go a few photos at a time so new photos never wait behind a
//! backlog of them.

use std::path::PathBuf;
use std::time::Duration;

use shoebox_core::Captioner;
use shoebox_indexer::{Change, Method, RootWatcher, ScanSummary};
use shoebox_ml::Clip;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::{Engine, Error, Result, SearchIndices};

/// Photos captioned per pass before the watcher is listened to again.
const CAPTIONS_PER_PASS: u32 = 4;
/// How long to wait before scanning again when another process holds the scan lock.
const BUSY_RETRY: Duration = Duration::from_secs(5);

/// The models the live library runs; each stage without its model is skipped.
#[derive(Clone, Copy, Default)]
pub struct LiveModels<'a> {
    /// Embeddings and zero-shot tags.
    pub clip: Option<&'a Clip>,
    /// Captions.
    pub captioner: Option<&'a dyn Captioner>,
}

/// What one pass through the stages did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// The scan, when this pass scanned.
    pub scan: Option<ScanSummary>,
    /// Photos embedded.
    pub embedded: usize,
    /// Photos scored for zero-shot tags.
    pub tagged: usize,
    /// Captions written.
    pub captioned: usize,
}

/// What the live library tells its caller.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// Watching began: each root and how it is watched.
    Watching(Vec<(PathBuf, Method)>),
    /// A pass finished.
    Pass(Pass),
    /// The library is up to date and waits for changes.
    Idle,
}

impl Engine {
    /// Watches every root and keeps the library current — a reconciliation scan at start-up,
    /// then each change through every stage — until `stop` turns true. `report` hears of each
    /// pass; `indices` (opened here when not given and CLIP is) are kept in step as results
    /// land, so searches on them see new photos within the debounce time plus a pass.
    pub async fn watch(
        &self,
        models: LiveModels<'_>,
        indices: Option<&mut SearchIndices>,
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
        let mut own = None;
        if indices.is_none()
            && let Some(clip) = models.clip
        {
            own = Some(self.indices(clip).await?);
        }
        let mut indices = indices.or(own.as_mut());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let watcher = RootWatcher::start(&roots, &self.settings().watch, &tx)?;
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
                let (pass, left) = match self.pass(models, indices.as_deref_mut(), scan).await {
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
                    // Captions are left: take any change first, then go on with them.
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
                _ = stop.changed() => {}
            }
        }
    }

    /// One pass: a scan when `scan`, then every stage's pending work (captions a few at a
    /// time); returns what it did and whether captions are left.
    async fn pass(
        &self,
        models: LiveModels<'_>,
        mut indices: Option<&mut SearchIndices>,
        scan: bool,
    ) -> Result<(Pass, bool)> {
        let mut pass = Pass::default();
        if scan {
            pass.scan = Some(self.index(&[], &()).await?);
        }
        if let (Some(clip), Some(indices)) = (models.clip, indices.as_deref_mut()) {
            pass.embedded = self
                .embed_library(clip, indices, &|_, _| {})
                .await?
                .embedded;
            if self.settings().tags.enabled {
                pass.tagged = self.tag_pending(clip).await?.scored;
            }
        }
        let mut more = false;
        if let Some(captioner) = models
            .captioner
            .filter(|_| self.settings().captions.enabled)
        {
            let summary = self
                .caption_pending(captioner, CAPTIONS_PER_PASS, &|_, _| {})
                .await?;
            pass.captioned = summary.captioned;
            more = summary.captioned > 0 && summary.deferred == 0;
        }
        match indices {
            Some(indices) => self.sync_text(&mut indices.text).await?,
            None => self.sync_text(&mut self.open_text()?).await?,
        }
        Ok((pass, more))
    }
}
/// Every change asks for a scan of the roots (unchanged files cost a `stat` each).
fn wants_scan(change: &Change) -> bool {
    match change {
        Change::Paths(paths) => !paths.is_empty(),
        Change::Rescan => true,
    }
}

/// Waits until `at`, or forever when there is no such time.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
