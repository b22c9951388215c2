//! The embedding stage: CLIP image embeddings of the photos that lack a current one, as jobs
//! of the queue, stored and put into a vector index — one the caller owns, or the one live
//! searches read (locked only while a batch goes in, so searches go on meanwhile).

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;
use shoebox_core::{
    ContentHash, ImageEmbedder, JobKind, MetadataStore, PendingPhoto, PhotoId, Pixels,
    StoredEmbedding,
};
use shoebox_indexer::thumbnail_path;
use shoebox_ml::Clip;
use shoebox_vector::VectorIndex;

use crate::jobs::{Work, job_key};
use crate::serving::LiveSearch;
use crate::{EmbedSummary, Engine, Error, Result};

/// The short side a thumbnail needs to stand in for the original as CLIP's input (the
/// models resize the short side to 224 or 256 pixels).
const MIN_INPUT_SIDE: u32 = 256;

/// The vector index the embeddings go into.
pub(crate) enum Target<'a> {
    /// One the caller holds.
    Owned(&'a mut VectorIndex),
    /// The one live searches read.
    Live(&'a LiveSearch),
}

impl Target<'_> {
    fn write<R>(&mut self, f: impl FnOnce(&mut VectorIndex) -> R) -> R {
        match self {
            Self::Owned(index) => f(index),
            Self::Live(live) => f(&mut live.write().indices.vector),
        }
    }

    fn read<R>(&self, f: impl FnOnce(&VectorIndex) -> R) -> R {
        match self {
            Self::Owned(index) => f(index),
            Self::Live(live) => f(&live.read().indices.vector),
        }
    }
}

impl Engine {
    /// A photo's CLIP input, upright: its largest thumbnail (made by the scan, and much
    /// smaller to decode than a camera original) when its short side has at least
    /// [`MIN_INPUT_SIDE`] pixels, else the original file.
    fn clip_input(
        &self,
        original: &Path,
        hash: &ContentHash,
    ) -> std::result::Result<Pixels, String> {
        let settings = self.settings();
        if let Some(&size) = settings.thumbnails.sizes.iter().max() {
            let thumbnail = thumbnail_path(&self.data_dir().thumbnails(), size, hash);
            if let Ok(pixels) = shoebox_indexer::load_pixels(&thumbnail, &settings.indexer)
                && pixels.width.min(pixels.height) >= MIN_INPUT_SIDE
            {
                return Ok(pixels);
            }
        }
        shoebox_indexer::load_pixels(original, &settings.indexer)
    }

    /// Embeds up to `limit` photos lacking a current embedding by `clip` into `target` at
    /// `priority`, drops the vectors of photos gone or changed, and saves the index when it
    /// changed. `progress(done, total)`.
    pub(crate) async fn embed_into(
        &self,
        clip: &Clip,
        mut target: Target<'_>,
        priority: i32,
        limit: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<EmbedSummary> {
        let model = clip.model_id();
        let roots = self.store().roots().await?;
        let work: Work<PendingPhoto> = self
            .store()
            .pending_embeddings(model, u32::MAX)
            .await?
            .into_iter()
            .map(|p| (job_key(p.photo, &p.hash), p))
            .collect();
        self.enqueue(JobKind::Embed, model, priority, &work, |p| p.photo)
            .await?;
        let total = work.len().min(limit);
        let mut summary = EmbedSummary::default();
        let mut embedded = HashSet::new();
        let mut done = 0;
        progress(0, total);
        while done < total {
            let batch = self.settings().models.batch_size.min(total - done);
            let jobs = self.claim(JobKind::Embed, model, batch).await?;
            if jobs.is_empty() {
                break;
            }
            // Jobs whose work is gone (done by an earlier run, or the photo changed or left
            // since) finish with nothing to do.
            let mut finished = Vec::with_capacity(jobs.len());
            let mut candidates = Vec::with_capacity(jobs.len());
            for job in &jobs {
                match work
                    .get(&job.key)
                    .and_then(|p| Some((p, roots.iter().find(|r| r.id == p.root)?)))
                {
                    Some((p, root)) => candidates.push((job, p, root.path.join(&p.rel_path))),
                    None => finished.push(job.id),
                }
            }
            // Decoded on the CPU pool, a photo per thread.
            let decoded: Vec<std::result::Result<Pixels, String>> = candidates
                .par_iter()
                .map(|(_, p, path)| self.clip_input(path, &p.hash))
                .collect();
            let mut images = Vec::with_capacity(jobs.len());
            let mut kept = Vec::with_capacity(jobs.len());
            for ((job, p, _), pixels) in candidates.into_iter().zip(decoded) {
                match pixels {
                    Ok(pixels) => {
                        images.push(pixels);
                        kept.push((job.id, p));
                    }
                    Err(reason) => {
                        self.retry_later(job, &reason).await?;
                        summary.failed.push((p.photo, reason));
                    }
                }
            }
            let embeddings = clip.embed_images(&images)?;
            let stored: Vec<StoredEmbedding> = kept
                .iter()
                .zip(embeddings)
                .map(|((_, p), e)| StoredEmbedding {
                    photo: p.photo,
                    hash: p.hash,
                    vector: e.vector,
                })
                .collect();
            let items: Vec<(PhotoId, &[f32])> = stored
                .iter()
                .map(|e| (e.photo, e.vector.as_slice()))
                .collect();
            target.write(|index| index.insert_batch(&items).map_err(Error::Vector))?;
            summary.embedded += stored.len();
            embedded.extend(stored.iter().map(|e| e.photo));
            self.store().put_embeddings(model, stored).await?;
            finished.extend(kept.iter().map(|(id, _)| *id));
            self.complete(finished).await?;
            done += jobs.len();
            progress(done.min(total), total);
        }
        // What is still pending: the work found above, less what this call embedded (the
        // store is not listed a second time).
        let unembedded: HashSet<PhotoId> = work
            .values()
            .map(|p| p.photo)
            .filter(|p| !embedded.contains(p))
            .collect();
        let stale: HashSet<PhotoId> = {
            let photos = target.read(VectorIndex::photos);
            self.stale_among(photos, &unembedded).await?
        };
        let changed = summary.embedded + stale.len() > 0;
        if changed {
            target.write(|index| {
                for photo in &stale {
                    index.remove(*photo);
                }
            });
            // Compaction rebuilds the graph: under the read lock, so searches go on (this
            // stage is the index's only writer, so nothing changes it meanwhile).
            let compacted =
                target.read(|index| index.needs_compaction().then(|| index.compacted()));
            target.write(|index| {
                if let Some(compacted) = compacted {
                    *index = compacted;
                }
                index.prepare_search();
            });
            let watermark = self.vector_watermark(model).await?;
            target.read(|index| self.save_vectors(index, &watermark))?;
        }
        Ok(summary)
    }
}
