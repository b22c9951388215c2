//! The derived indices: opened from their files at start, rebuilt from the store when a file
//! is missing, damaged or stale (its watermark differs from the store's change counters), and
//! kept in step as photos are embedded.

use std::collections::HashSet;

use shoebox_core::{MetadataStore, Photo, PhotoId, priority};
use shoebox_ml::Clip;
use shoebox_text::{Caption, TextDoc, TextIndex};
use shoebox_vector::{IndexParams, VectorIndex};

use crate::embed::Target;
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
        let summary = self
            .embed_into(
                clip,
                Target::Owned(&mut indices.vector),
                priority::NEW_PHOTO,
                usize::MAX,
                progress,
            )
            .await?;
        self.sync_text(&mut indices.text).await?;
        Ok(summary)
    }

    pub(crate) async fn vector_watermark(&self, model_id: &str) -> Result<String> {
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

    pub(crate) async fn open_vector(&self, model_id: &str, dim: usize) -> Result<VectorIndex> {
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

    /// Which of `photos` (in `model_id`'s vector index) to drop: gone, failed, or changed
    /// without a new embedding.
    pub(crate) async fn stale_among(
        &self,
        model_id: &str,
        photos: Vec<PhotoId>,
    ) -> Result<HashSet<PhotoId>> {
        let live: HashSet<PhotoId> = self
            .store()
            .live_photos()
            .await?
            .iter()
            .map(|p| p.id)
            .collect();
        let unembedded: HashSet<PhotoId> = self
            .store()
            .pending_embeddings(model_id, u32::MAX)
            .await?
            .into_iter()
            .map(|p| p.photo)
            .collect();
        Ok(photos
            .into_iter()
            .filter(|p| !live.contains(p) || unembedded.contains(p))
            .collect())
    }

    /// Writes `index` with the store's current watermark for it.
    pub(crate) fn save_vectors(&self, index: &VectorIndex, watermark: &str) -> Result<()> {
        let dir = self.data_dir().vector_index(index.model_id());
        index.save(&dir, watermark).map_err(Error::Vector)
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
        let seen = text.watermark().map_err(Error::Text)?;
        if let Some(update) = self.text_update(seen.as_deref()).await? {
            update.apply(text)?;
        }
        Ok(())
    }

    /// What the text index needs when its watermark is `seen`: nothing when current, else
    /// every live photo's document.
    pub(crate) async fn text_update(&self, seen: Option<&str>) -> Result<Option<TextUpdate>> {
        let watermark = self.text_watermark().await?;
        if seen == Some(watermark.as_str()) {
            return Ok(None);
        }
        let mut captions = self.captions_by_photo().await?;
        let mut tags = self.tags_by_photo().await?;
        let docs = self
            .store()
            .live_photos()
            .await?
            .iter()
            .map(|photo| {
                let captions = captions.remove(&photo.id).unwrap_or_default();
                let tags = tags.remove(&photo.id).unwrap_or_default();
                text_doc(photo, captions, tags)
            })
            .collect();
        Ok(Some(TextUpdate { watermark, docs }))
    }
}

/// The text index rebuilt: its documents and the watermark they reflect.
pub(crate) struct TextUpdate {
    watermark: String,
    docs: Vec<TextDoc>,
}

impl TextUpdate {
    /// Replaces the index's documents (no await: it can run under a lock).
    pub(crate) fn apply(self, text: &mut TextIndex) -> Result<()> {
        text.clear().map_err(Error::Text)?;
        for doc in &self.docs {
            text.upsert(doc).map_err(Error::Text)?;
        }
        text.commit(&self.watermark).map_err(Error::Text)
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
