//! [`Scanner`]: one pass that brings the store in line with the library roots on disk.

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;
use shoebox_core::{MetadataStore, PhotoWrite, Root, ScanOutcome};
use tokio::sync::mpsc;

use crate::decode::read_photo;
use crate::probe::probe;
use crate::reconcile::{Reconciler, Work};
use crate::thumbnail::Thumbnailer;
use crate::walk::{Filter, Walk, walk};
use crate::{Error, IndexerSettings, Result, ScanProgress, ScanSummary, ThumbnailSettings};

/// Scans library roots into a store.
#[derive(Debug)]
pub struct Scanner<'s, S> {
    store: &'s S,
    settings: Arc<IndexerSettings>,
    filter: Arc<Filter>,
    thumbs: Arc<Thumbnailer>,
    pool: Arc<rayon::ThreadPool>,
}

impl<'s, S: MetadataStore> Scanner<'s, S> {
    /// A scanner writing records to `store` and thumbnails under `thumbs_dir`.
    pub fn new(
        store: &'s S,
        settings: IndexerSettings,
        thumbnails: &ThumbnailSettings,
        thumbs_dir: PathBuf,
    ) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(settings.threads)
            .thread_name(|i| format!("shoebox-read-{i}"))
            .build()
            .map_err(|e| Error::Threads(e.to_string()))?;
        Ok(Self {
            store,
            filter: Arc::new(Filter::new(&settings.ignore)?),
            settings: Arc::new(settings),
            thumbs: Arc::new(Thumbnailer::new(thumbs_dir, thumbnails)),
            pool: Arc::new(pool),
        })
    }

    /// Scans `roots` once: new and changed files are read, moves keep their ids, missing
    /// files are marked gone (except under folders that could not be read). The caller holds
    /// the data directory's scan lock.
    pub async fn scan(&self, roots: &[Root], progress: &dyn ScanProgress) -> Result<ScanSummary> {
        let whole: Vec<(Root, String)> = roots.iter().map(|r| (r.clone(), String::new())).collect();
        self.scan_folders(&whole, progress).await
    }

    /// Scans the given folders of roots (`/`-separated, relative to the root; `""` for the
    /// whole root; none inside another) as [`Self::scan`] scans roots: what a change touched,
    /// at a cost that follows the folders, not the library. Folder problems are recorded by
    /// whole-root scans only.
    pub async fn scan_folders(
        &self,
        folders: &[(Root, String)],
        progress: &dyn ScanProgress,
    ) -> Result<ScanSummary> {
        self.thumbs.clear_partial()?;
        let walks = self.walk(folders).await?;
        let mut summary = ScanSummary::default();
        let mut known = Vec::new();
        for ((root, under), walk) in folders.iter().zip(&walks) {
            summary.files += walk.files.len() as u64;
            summary.problems += walk.problems.len() as u64;
            for p in &walk.problems {
                tracing::warn!(root = %root.path.display(), path = %p.rel_path, "{}", p.reason);
            }
            if under.is_empty() {
                self.store
                    .set_problems(root.id, walk.problems.clone())
                    .await?;
            }
            known.extend(self.store.known_photos_under(root.id, under).await?);
        }

        let reconciler = Reconciler::new(known, self.settings.retry_failed);
        let unreadable = |root, rel_path: &str| {
            folders
                .iter()
                .zip(&walks)
                .any(|((r, _), w): (&(Root, String), &Walk)| {
                    r.id == root && w.is_unreadable(rel_path)
                })
        };
        let files = walks.iter().flat_map(|w| w.files.iter().cloned()).collect();
        let split = reconciler.split(files, |k| unreadable(k.root, &k.rel_path));
        let want_hash = split.needs_hashes;
        let paths: Vec<PathBuf> = split
            .candidates
            .iter()
            .map(|c| c.abs_path.clone())
            .collect();
        let pool = Arc::clone(&self.pool);
        let probes = blocking(move || {
            pool.install(|| paths.par_iter().map(|p| probe(p, want_hash)).collect())
        })
        .await?;
        let plan = reconciler.plan(split, probes);

        summary.unchanged = plan.unchanged;
        summary.moved = plan.moved;
        summary.removed = plan.removed;
        summary.skipped = plan.skipped;
        summary
            .stale
            .extend(plan.writes.iter().filter_map(|w| match w {
                PhotoWrite::MarkGone { id } => Some(*id),
                _ => None,
            }));
        self.store.apply(plan.writes).await?;

        progress.reading(plan.work.len() as u64);
        self.read(plan.work, progress, &mut summary).await?;
        Ok(summary)
    }

    async fn walk(&self, folders: &[(Root, String)]) -> Result<Vec<Walk>> {
        let folders = folders.to_vec();
        let filter = Arc::clone(&self.filter);
        let follow = self.settings.follow_symlinks;
        blocking(move || {
            folders
                .iter()
                .map(|(r, under)| walk(r.id, &r.path, under, &filter, follow))
                .collect()
        })
        .await
    }

    /// Reads the work in parallel batches; each batch is stored in one transaction while the
    /// next is read. At most two batches wait, so memory stays flat on any library size.
    async fn read(
        &self,
        work: Vec<Work>,
        progress: &dyn ScanProgress,
        summary: &mut ScanSummary,
    ) -> Result<()> {
        let (tx, mut rx) = mpsc::channel::<Result<Vec<PhotoWrite>>>(2);
        let settings = Arc::clone(&self.settings);
        let thumbs = Arc::clone(&self.thumbs);
        let pool = Arc::clone(&self.pool);
        let batch_size = settings.batch_size.max(1);
        let reader = tokio::task::spawn_blocking(move || {
            for chunk in work.chunks(batch_size) {
                let batch = pool.install(|| {
                    chunk
                        .par_iter()
                        .map(|w| read_work(w, &settings, &thumbs))
                        .collect::<Result<Vec<_>>>()
                });
                let stop = batch.is_err();
                if tx.blocking_send(batch).is_err() || stop {
                    break;
                }
            }
        });
        while let Some(batch) = rx.recv().await {
            let writes = batch?;
            let n = writes.len() as u64;
            for w in &writes {
                count(w, summary);
            }
            self.store.apply(writes).await?;
            progress.advanced(n);
        }
        reader.await.map_err(|e| Error::Task(e.to_string()))
    }
}

fn read_work(work: &Work, settings: &IndexerSettings, thumbs: &Thumbnailer) -> Result<PhotoWrite> {
    let read = read_photo(&work.file.abs_path, settings, thumbs)?;
    if let ScanOutcome::Failed { reason } = &read.outcome {
        tracing::warn!(path = %work.file.abs_path.display(), "{reason}");
    }
    Ok(match work.replace {
        Some(id) => PhotoWrite::Replace {
            id,
            stamp: work.file.stamp,
            hash: read.hash,
            outcome: read.outcome,
        },
        None => PhotoWrite::Insert {
            root: work.file.root,
            rel_path: work.file.rel_path.clone(),
            stamp: work.file.stamp,
            hash: read.hash,
            outcome: read.outcome,
        },
    })
}

fn count(write: &PhotoWrite, summary: &mut ScanSummary) {
    match write {
        PhotoWrite::Insert {
            outcome: ScanOutcome::Indexed(_),
            ..
        } => summary.new += 1,
        PhotoWrite::Replace {
            outcome: ScanOutcome::Indexed(_),
            ..
        } => summary.changed += 1,
        PhotoWrite::Insert { .. } | PhotoWrite::Replace { .. } => summary.failed += 1,
        PhotoWrite::Touch { .. } | PhotoWrite::Move { .. } | PhotoWrite::MarkGone { .. } => {}
    }
    if let PhotoWrite::Replace { id, .. } = write {
        summary.stale.push(*id);
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(e.to_string()))
}
