//! [`LiveSearch`]: what searches read while the library is live — the active CLIP model and
//! both indices — behind one lock that writers take only briefly (a batch of vectors, the
//! switch to a new model), so searches answer all along. The text index writes and commits
//! under the read lock (tantivy swaps its reader atomically), and a query's text embedding is
//! made before the lock is taken.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use shoebox_core::{Embedding, PhotoId};
use shoebox_ml::{Clip, Prediction, ZeroShot, imagenet_templates};
use shoebox_vector::VectorIndex;

use crate::batch::{Batched, TextBatcher};
use crate::{Result, SearchIndices, SearchPage, SearchRequest, SearchSettings};

/// The active model and its indices.
pub(crate) struct Active {
    pub(crate) clip: Arc<Clip>,
    pub(crate) indices: SearchIndices,
    /// Concurrent searches' queries, encoded together (one batcher per model).
    queries: Arc<TextBatcher>,
}

/// The searchable state of a live library.
pub struct LiveSearch {
    state: RwLock<Active>,
    /// Wakes the live library for work that is not a file change (a new smart album).
    nudge: tokio::sync::Notify,
    /// Wakes it to watch the roots again and scan them (a root added or removed).
    roots: tokio::sync::Notify,
}

impl std::fmt::Debug for LiveSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSearch")
            .field("model_id", &self.model_id())
            .finish()
    }
}

impl LiveSearch {
    /// Searches with `clip` over `indices` (made for it).
    pub fn new(clip: Arc<Clip>, indices: SearchIndices) -> Self {
        Self {
            state: RwLock::new(Active {
                clip,
                indices,
                queries: Arc::default(),
            }),
            nudge: tokio::sync::Notify::new(),
            roots: tokio::sync::Notify::new(),
        }
    }

    /// A text query (see [`crate::search`]) with the active model. The query's embedding is
    /// made before the indices are read, so the lock is held only for the lookups (and a
    /// writer waiting for it holds no search up for longer).
    pub fn search(&self, settings: &SearchSettings, request: &SearchRequest) -> Result<SearchPage> {
        loop {
            let (clip, queries) = {
                let active = self.read();
                (Arc::clone(&active.clip), Arc::clone(&active.queries))
            };
            let model = Batched {
                model: clip.as_ref(),
                batcher: &queries,
            };
            let vector = crate::search::request_vector(&model, request)?;
            let active = self.read();
            // A model switch in between: the vector is of the old model; embed again.
            if Arc::ptr_eq(&active.clip, &clip) {
                return crate::search::search_with(
                    &active.indices,
                    settings,
                    request,
                    vector.as_deref(),
                );
            }
        }
    }

    /// Photos that look like the photo `photo` (it left out), under the request's filters;
    /// `None` when the photo has no vector.
    pub fn similar(
        &self,
        settings: &SearchSettings,
        request: &SearchRequest,
        photo: PhotoId,
    ) -> Result<Option<SearchPage>> {
        let active = self.read();
        let Some(vector) = active.indices.vector.vector(photo).map(<[f32]>::to_vec) else {
            return Ok(None);
        };
        crate::similar(&active.indices, settings, request, &vector, Some(photo)).map(Some)
    }

    /// Photos that look like `image` (an upload), under the request's filters. Embedding the
    /// image takes a moment: call it off the async threads.
    pub fn similar_to_image(
        &self,
        settings: &SearchSettings,
        request: &SearchRequest,
        image: &shoebox_core::Pixels,
    ) -> Result<SearchPage> {
        let clip = self.clip();
        let vector =
            shoebox_core::ImageEmbedder::embed_images(clip.as_ref(), std::slice::from_ref(image))?
                .pop()
                .map(|e| e.vector)
                .ok_or_else(|| {
                    shoebox_core::Error::Invalid("the image gave no embedding".to_owned())
                })?;
        let active = self.read();
        crate::similar(&active.indices, settings, request, &vector, None)
    }

    /// Ranks `labels` for the photo `photo` by zero-shot CLIP (its stored vector against each
    /// label in CLIP's 80 ImageNet templates); `None` when the photo has no vector. The label
    /// embeddings take a moment: call it off the async threads.
    pub fn classify(&self, photo: PhotoId, labels: &[String]) -> Result<Option<Vec<Prediction>>> {
        let (clip, vector) = {
            let active = self.read();
            let vector = active.indices.vector.vector(photo).map(<[f32]>::to_vec);
            (Arc::clone(&active.clip), vector)
        };
        let Some(vector) = vector else {
            return Ok(None);
        };
        let zero_shot = ZeroShot::new(&clip, labels, &imagenet_templates())?;
        let image = Embedding {
            model_id: clip.model_id().to_owned(),
            vector,
        };
        Ok(Some(zero_shot.classify(&image)?))
    }

    /// Asks the live library for a pass: work appeared that no file change announces (a
    /// smart album to fill).
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Completes when [`Self::nudge`] was called.
    pub(crate) async fn nudged(&self) {
        self.nudge.notified().await;
    }

    /// Tells the live library the roots changed: it watches the new list and scans it (photos
    /// of a removed root leave both indices in that pass).
    pub fn roots_changed(&self) {
        self.roots.notify_one();
    }

    /// Completes when [`Self::roots_changed`] was called.
    pub(crate) async fn roots_moved(&self) {
        self.roots.notified().await;
    }

    /// The active model's id.
    pub fn model_id(&self) -> String {
        self.read().clip.model_id().to_owned()
    }

    /// The active model.
    pub fn clip(&self) -> Arc<Clip> {
        Arc::clone(&self.read().clip)
    }

    /// Reads the active indices (briefly: writers wait meanwhile).
    pub fn with_indices<R>(&self, f: impl FnOnce(&SearchIndices) -> R) -> R {
        f(&self.read().indices)
    }

    /// Makes `clip` the active model with `vector`, its complete index.
    pub(crate) fn switch(&self, clip: Arc<Clip>, vector: VectorIndex) {
        let mut active = self.write();
        active.clip = clip;
        active.indices.vector = vector;
        active.queries = Arc::default();
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Active> {
        // A writer that panicked left whole values behind (each write replaces or appends).
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Active> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}
