//! The derived indices: opened from their files at start, rebuilt from the store when a file
//! is missing, damaged or stale (its watermark differs from the store's change counters), and
//! kept in step as photos are embedded.

use std::collections::HashSet;

use shoebox_core::{
    ImageEmbedder, JobKind, MetadataStore, PendingPhoto, Photo, PhotoId, StoredEmbedding, priority,
};
use shoebox_ml::Clip;
use shoebox_text::{Caption, TextDoc, TextIndex};
use shoebox_vector::{IndexParams, VectorIndex};

use crate::jobs::{Work, job_key};
use crate::{Engine, Error, Result, SearchIndices};

/// What [`Engine::embed_library`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbedSummary {
    /// Photos embedded.
    pub embedded: usize,
    /// Photos that could not be read, with the reason.
    pub failed: Vec<(PhotoId, String)>,
}

impl Engine {
    /// Opens the search indices for `clip`'s model, rebuilding any that is missing, damaged
    /// or stale.
    pub async fn indices(&self, clip: &Clip) -> Result<SearchIndices> {
        let vector = self.open_vector(clip.model_id(), clip.dim()).await?;
        let mut text = self.open_text()?;
        self.sync_text(&mut text).await?;
        Ok(SearchIndices { vector, text })
    }

    /// Embeds every usable photo that lacks a current embedding for `clip` (as jobs of the
    /// queue, a batch per claim), stores the vectors, and brings both indices in step with the
    /// store. `progress(done, total)`.
    pub async fn embed_library(
        &self,
        clip: &Clip,
        indices: &mut SearchIndices,
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
        self.enqueue(JobKind::Embed, model, priority::NEW_PHOTO, &work, |p| {
            p.photo
        })
        .await?;
        let mut summary = EmbedSummary::default();
        let mut done = 0;
        progress(0, work.len());
        loop {
            let jobs = self
                .claim(JobKind::Embed, model, self.settings().models.batch_size)
                .await?;
            if jobs.is_empty() {
                break;
            }
            // Jobs whose work is gone (done by an earlier run, or the photo changed or left
            // since) finish with nothing to do.
            let mut finished = Vec::with_capacity(jobs.len());
            let mut images = Vec::with_capacity(jobs.len());
            let mut kept = Vec::with_capacity(jobs.len());
            for job in &jobs {
                let Some((p, root)) = work
                    .get(&job.key)
                    .and_then(|p| Some((p, roots.iter().find(|r| r.id == p.root)?)))
                else {
                    finished.push(job.id);
                    continue;
                };
                let path = root.path.join(&p.rel_path);
                match shoebox_indexer::load_pixels(&path, &self.settings().indexer) {
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
            indices.vector.insert_batch(&items).map_err(Error::Vector)?;
            summary.embedded += stored.len();
            self.store().put_embeddings(model, stored).await?;
            finished.extend(kept.iter().map(|(id, _)| *id));
            self.complete(finished).await?;
            done += jobs.len();
            progress(done.min(work.len()), work.len());
        }
        let pruned = self.prune_vectors(&mut indices.vector).await?;
        if summary.embedded > 0 {
            indices.vector.prepare_search();
        }
        if summary.embedded + pruned > 0 {
            self.save_vectors(&mut indices.vector).await?;
        }
        self.sync_text(&mut indices.text).await?;
        Ok(summary)
    }

    async fn vector_watermark(&self, model_id: &str) -> Result<String> {
        let photos = self.store().generation("photos").await?;
        let vectors = self
            .store()
            .generation(&format!("vector:{model_id}"))
            .await?;
        Ok(format!("photos={photos};vectors={vectors}"))
    }

    async fn text_watermark(&self) -> Result<String> {
        let photos = self.store().generation("photos").await?;
        let text = self.store().generation("text").await?;
        Ok(format!("photos={photos};text={text}"))
    }

    async fn open_vector(&self, model_id: &str, dim: usize) -> Result<VectorIndex> {
        let dir = self.data_dir().vector_index(model_id);
        let current = self.vector_watermark(model_id).await?;
        match VectorIndex::load(&dir, model_id, IndexParams::default()) {
            Ok(Some(loaded)) if loaded.watermark == current && loaded.index.dim() == dim => {
                return Ok(loaded.index);
            }
            Ok(Some(_)) => tracing::info!(model_id, "vector index is stale; rebuilding"),
            Ok(None) => {}
            Err(e) => tracing::warn!(model_id, "{e}; rebuilding the vector index"),
        }
        let mut index = VectorIndex::new(model_id, dim, IndexParams::default());
        let stored = self.store().live_embeddings(model_id).await?;
        let items: Vec<(PhotoId, &[f32])> = stored
            .iter()
            .filter(|e| e.vector.len() == dim)
            .map(|e| (e.photo, e.vector.as_slice()))
            .collect();
        index.insert_batch(&items).map_err(Error::Vector)?;
        index.prepare_search();
        index.save(&dir, &current).map_err(Error::Vector)?;
        Ok(index)
    }

    /// Drops vectors of photos that are gone, failed, or changed without a new embedding;
    /// returns how many.
    async fn prune_vectors(&self, index: &mut VectorIndex) -> Result<usize> {
        let live: HashSet<PhotoId> = self
            .store()
            .live_photos()
            .await?
            .iter()
            .map(|p| p.id)
            .collect();
        let stale: HashSet<PhotoId> = self
            .store()
            .pending_embeddings(index.model_id(), u32::MAX)
            .await?
            .into_iter()
            .map(|p| p.photo)
            .collect();
        let mut pruned = 0;
        for photo in index.photos() {
            if !live.contains(&photo) || stale.contains(&photo) {
                pruned += usize::from(index.remove(photo));
            }
        }
        Ok(pruned)
    }

    async fn save_vectors(&self, index: &mut VectorIndex) -> Result<()> {
        if index.needs_compaction() {
            *index = index.compacted();
        }
        let watermark = self.vector_watermark(index.model_id()).await?;
        let dir = self.data_dir().vector_index(index.model_id());
        index.save(&dir, &watermark).map_err(Error::Vector)
    }

    pub(crate) fn open_text(&self) -> Result<TextIndex> {
        let dir = self.data_dir().text_index();
        match TextIndex::open(&dir) {
            Ok(index) => Ok(index),
            // Another process is writing it: wait for it, never rebuild under it.
            Err(e @ shoebox_text::Error::Busy { .. }) => Err(Error::Text(e)),
            Err(e) => {
                tracing::warn!("{e}; rebuilding the text index");
                fs_err::remove_dir_all(&dir)?;
                TextIndex::open(&dir).map_err(Error::Text)
            }
        }
    }

    /// Rebuilds the text index from the store when its watermark is not the store's.
    pub(crate) async fn sync_text(&self, text: &mut TextIndex) -> Result<()> {
        let current = self.text_watermark().await?;
        if text.watermark().map_err(Error::Text)?.as_deref() == Some(current.as_str()) {
            return Ok(());
        }
        text.clear().map_err(Error::Text)?;
        let mut captions = self.captions_by_photo().await?;
        let mut tags = self.tags_by_photo().await?;
        for photo in self.store().live_photos().await? {
            let captions = captions.remove(&photo.id).unwrap_or_default();
            let tags = tags.remove(&photo.id).unwrap_or_default();
            text.upsert(&text_doc(&photo, captions, tags))
                .map_err(Error::Text)?;
        }
        text.commit(&current).map_err(Error::Text)
    }
}

/// What the text index knows about a photo.
fn text_doc(photo: &Photo, captions: Vec<Caption>, tags: Vec<String>) -> TextDoc {
    let meta = photo.metadata.as_ref();
    let camera = meta.map(|m| {
        [m.camera_make.as_deref(), m.camera_model.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    });
    TextDoc {
        photo: photo.id,
        root: photo.root.0,
        rel_path: photo.rel_path.clone(),
        captions,
        tags,
        camera: camera.filter(|c| !c.is_empty()),
        lens: meta.and_then(|m| m.lens.clone()),
        taken: meta
            .and_then(|m| m.taken_at)
            .map(|t| t.instant().unix_timestamp()),
        media: "photo".to_owned(),
    }
}
