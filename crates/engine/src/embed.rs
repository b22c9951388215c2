//! The embedding stage's handler: CLIP image embeddings of the photos its jobs name, stored
//! and put into a vector index — one the caller owns, or the one live searches read (locked
//! only while a batch goes in, so searches go on meanwhile).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use shoebox_core::{
    ContentHash, ImageEmbedder, Job, MetadataStore, PhotoId, PhotoStatus, Pixels, Root,
    StoredEmbedding,
};
use shoebox_indexer::thumbnail_path;
use shoebox_vector::VectorIndex;

use crate::jobs::{Embedder, Outcome};
use crate::serving::LiveSearch;
use crate::{Engine, Error, Result};

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

    /// Where a job's photo is, when the job is still current (the photo usable, with the
    /// content the job was made for); `None` when there is nothing left to do.
    pub(crate) async fn job_file(&self, job: &Job, roots: &[Root]) -> Result<Option<PathBuf>> {
        Ok(self.store().photo(job.photo).await?.and_then(|p| {
            let current = p.status == PhotoStatus::Ok && p.hash == Some(job.hash);
            let root = roots.iter().find(|r| r.id == p.root)?;
            current.then(|| root.path.join(&p.rel_path))
        }))
    }

    /// The embedding handler: decodes the jobs' photos on the CPU pool, embeds them in one
    /// batch, puts the vectors into the embedder's index and stores them.
    pub(crate) async fn embed_jobs(
        &self,
        embedder: &mut Embedder<'_>,
        jobs: &[Job],
    ) -> Result<Vec<Outcome>> {
        let roots = self.store().roots().await?;
        let mut outcomes: Vec<Outcome> = vec![Ok(()); jobs.len()];
        let mut files = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.iter().enumerate() {
            if let Some(path) = self.job_file(job, &roots).await? {
                files.push((i, path));
            }
        }
        // Decoded on the CPU pool, a photo per thread.
        let decoded: Vec<std::result::Result<Pixels, String>> = files
            .par_iter()
            .map(|(i, path)| self.clip_input(path, &jobs[*i].hash))
            .collect();
        let mut images = Vec::with_capacity(files.len());
        let mut kept = Vec::with_capacity(files.len());
        for ((i, _), pixels) in files.into_iter().zip(decoded) {
            match pixels {
                Ok(pixels) => {
                    images.push(pixels);
                    kept.push(&jobs[i]);
                }
                Err(reason) => outcomes[i] = Err(reason),
            }
        }
        if images.is_empty() {
            return Ok(outcomes);
        }
        let clip = embedder.clip;
        let stored: Vec<StoredEmbedding> = kept
            .iter()
            .zip(clip.embed_images(&images)?)
            .map(|(job, e)| StoredEmbedding {
                photo: job.photo,
                hash: job.hash,
                vector: e.vector,
            })
            .collect();
        let items: Vec<(PhotoId, &[f32])> = stored
            .iter()
            .map(|e| (e.photo, e.vector.as_slice()))
            .collect();
        embedder
            .target
            .write(|index| index.insert_batch(&items).map_err(Error::Vector))?;
        self.store().put_embeddings(clip.model_id(), stored).await?;
        Ok(outcomes)
    }

    /// Drops from `target` the vectors of photos gone, failed, or changed without a new
    /// embedding yet — looked for among `among` (the records a scan touched: a cost that
    /// follows the change), or among every photo in the index when `None`; whether any went.
    pub(crate) async fn drop_stale_vectors(
        &self,
        model: &str,
        target: &mut Target<'_>,
        among: Option<&[PhotoId]>,
    ) -> Result<bool> {
        let stale: HashSet<PhotoId> = match among {
            Some(touched) => {
                let mut stale = HashSet::new();
                for &photo in touched {
                    if target.read(|index| index.contains(photo))
                        && self.store().embedding(model, photo).await?.is_none()
                    {
                        stale.insert(photo);
                    }
                }
                stale
            }
            None => {
                let unembedded: HashSet<PhotoId> = self
                    .store()
                    .pending_embeddings(model, u32::MAX)
                    .await?
                    .into_iter()
                    .map(|p| p.photo)
                    .collect();
                let photos = target.read(VectorIndex::photos);
                self.stale_among(photos, &unembedded).await?
            }
        };
        target.write(|index| {
            for photo in &stale {
                index.remove(*photo);
            }
        });
        Ok(!stale.is_empty())
    }

    /// Compacts `target` when its tombstones call for it, readies it for search and saves it
    /// with the store's watermark.
    pub(crate) async fn save_changed_vectors(
        &self,
        model: &str,
        target: &mut Target<'_>,
    ) -> Result<()> {
        // Compaction rebuilds the graph: under the read lock, so searches go on (the stage is
        // the index's only writer, so nothing changes it meanwhile).
        let compacted = target.read(|index| index.needs_compaction().then(|| index.compacted()));
        target.write(|index| {
            if let Some(compacted) = compacted {
                *index = compacted;
            }
            index.prepare_search();
        });
        let watermark = self.vector_watermark(model).await?;
        target.read(|index| self.save_vectors(index, &watermark))
    }
}
