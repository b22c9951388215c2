//! The derived indices: opened from their files at start, rebuilt from the store when a file
//! is missing, damaged or stale (its watermark differs from the store's change counters), and
//! kept in step as photos are embedded.

use std::collections::HashSet;

use shoebox_core::{
    JobKind, MEDIA_GENERATED, MetadataStore, Photo, PhotoId, PhotoStatus, RootId, priority,
};
use shoebox_ml::Clip;
use shoebox_text::{Caption, TextDoc, TextIndex};
use shoebox_vector::{IndexParams, VectorIndex};

use crate::embed::Target;
use crate::jobs::{Embedder, Handlers};
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
        let mut handlers = Handlers {
            owns: &[JobKind::Embed],
            embed: vec![Embedder {
                clip,
                target: Target::Owned(&mut indices.vector),
                priority: priority::NEW_PHOTO,
            }],
            tag: None,
            caption: None,
        };
        let ran = self.run_jobs(&mut handlers, &|| false, progress).await?;
        let embedded = ran.done(JobKind::Embed, Some(model));
        for mut e in handlers.embed {
            let dropped = self.drop_stale_vectors(model, &mut e.target, None).await?;
            if embedded > 0 || dropped {
                self.save_changed_vectors(model, &mut e.target).await?;
            }
        }
        self.sync_text(&mut indices.text).await?;
        Ok(EmbedSummary {
            embedded,
            failed: ran
                .failed
                .into_iter()
                .map(|(_, photo, reason)| (photo, reason))
                .collect(),
        })
    }

    pub(crate) async fn vector_watermark(&self, model_id: &str) -> Result<String> {
        let photos = self.store().generation("photos").await?;
        let vectors = self
            .store()
            .generation(&format!("vector:{model_id}"))
            .await?;
        Ok(format!("photos={photos};vectors={vectors}"))
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

    /// Which of `photos` (in a vector index) to drop: gone, failed, or changed without a new
    /// embedding (`unembedded`: the photos whose embedding is still pending).
    pub(crate) async fn stale_among(
        &self,
        photos: Vec<PhotoId>,
        unembedded: &HashSet<PhotoId>,
    ) -> Result<HashSet<PhotoId>> {
        let live: HashSet<PhotoId> = self
            .store()
            .live_photos()
            .await?
            .iter()
            .map(|p| p.id)
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

    /// What the text index needs when its watermark is `seen`: nothing when current; the
    /// documents of the photos changed since, when the store's text log still reaches back
    /// (and they are not too many); else every live photo's document.
    pub(crate) async fn text_update(&self, seen: Option<&str>) -> Result<Option<TextUpdate>> {
        let generated = self.generated_root_id().await?;
        let after = seen
            .and_then(|w| w.strip_prefix(WATERMARK_PREFIX))
            .and_then(|n| n.parse::<i64>().ok());
        if let Some(after) = after
            && let Some((changed, last)) = self.store().text_changes(after).await?
            && changed.len() <= INCREMENTAL_MAX
        {
            if changed.is_empty() {
                return Ok(None);
            }
            let mut update = TextUpdate::new(last, false);
            for id in changed {
                match self.store().photo(id).await? {
                    Some(photo) if photo.status == PhotoStatus::Ok => {
                        let captions = self.captions_by_photo(Some(id)).await?.remove(&id);
                        let tags = self.tags_by_photo(Some(id)).await?.remove(&id);
                        update.upserts.push(text_doc(
                            &photo,
                            generated,
                            captions.unwrap_or_default(),
                            tags.unwrap_or_default(),
                        ));
                    }
                    _ => update.removals.push(id),
                }
            }
            self.store().prune_text_changes(last).await?;
            return Ok(Some(update));
        }
        // Read where the log ends first: changes made while the documents are read are
        // applied again next time (upserts), never lost.
        let last = self.store().text_log_end().await?;
        let mut update = TextUpdate::new(last, true);
        let mut captions = self.captions_by_photo(None).await?;
        let mut tags = self.tags_by_photo(None).await?;
        for photo in self.store().live_photos().await? {
            let captions = captions.remove(&photo.id).unwrap_or_default();
            let tags = tags.remove(&photo.id).unwrap_or_default();
            update
                .upserts
                .push(text_doc(&photo, generated, captions, tags));
        }
        self.store().prune_text_changes(last).await?;
        Ok(Some(update))
    }
}

/// A text index watermark: the last change of the store's text log it reflects.
const WATERMARK_PREFIX: &str = "text-log=";
/// Changed photos past which the text index is rebuilt rather than updated one by one.
const INCREMENTAL_MAX: usize = 2000;

/// A change to the text index: the documents to write and remove (or all of them, from empty),
/// and the watermark they bring it to.
pub(crate) struct TextUpdate {
    watermark: String,
    rebuild: bool,
    upserts: Vec<TextDoc>,
    removals: Vec<PhotoId>,
}

impl TextUpdate {
    fn new(last: i64, rebuild: bool) -> Self {
        Self {
            watermark: format!("{WATERMARK_PREFIX}{last}"),
            rebuild,
            upserts: Vec::new(),
            removals: Vec::new(),
        }
    }

    /// Writes the change and commits it; searches of `text` go on meanwhile and see the change
    /// once committed.
    pub(crate) fn apply(self, text: &TextIndex) -> Result<()> {
        if self.rebuild {
            text.clear().map_err(Error::Text)?;
        }
        for photo in self.removals {
            text.remove(photo);
        }
        for doc in &self.upserts {
            text.upsert(doc).map_err(Error::Text)?;
        }
        text.commit(&self.watermark).map_err(Error::Text)
    }
}

/// What the text index knows about a photo (in the root `generated`, one Stable Diffusion
/// made).
fn text_doc(
    photo: &Photo,
    generated: Option<RootId>,
    captions: Vec<Caption>,
    tags: Vec<String>,
) -> TextDoc {
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
        media: if Some(photo.root) == generated {
            MEDIA_GENERATED
        } else {
            "photo"
        }
        .to_owned(),
    }
}
