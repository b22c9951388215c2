//! Zero-shot tags: each photo's CLIP embedding scored against a vocabulary with prompt
//! ensembles; the labels over the threshold are stored as `zero_shot` tags and reach the text
//! index (tag text and facet), so `--tag` filters and words find them.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shoebox_core::{Embedding, Job, JobKind, MetadataStore, PhotoId, SmartAlbum, ZeroShotTags};
use shoebox_ml::{Clip, ZeroShot};

use crate::jobs::{Handlers, Outcome};
use crate::{Engine, Error, Result};

/// The built-in vocabulary.
const VOCABULARY: &str = include_str!("../../../config/tags/default.txt");

/// A short ensemble: tagging scores every photo against every label, so the label embeddings
/// are made once per run and a few templates keep that quick.
const TEMPLATES: [&str; 5] = [
    "a photo of a {}.",
    "a photo of the {}.",
    "a blurry photo of a {}.",
    "a close-up photo of a {}.",
    "a good photo of a {}.",
];

/// What a tagger scores with.
#[derive(Debug)]
pub(crate) struct Scorer {
    tagger: String,
    zero_shot: ZeroShot,
    /// Each album's id, threshold and direction (the unit mean of its prompts).
    albums: Vec<(i64, f32, Vec<f32>)>,
}

/// The `[tags]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagSettings {
    /// Whether `shoebox index` tags photos.
    pub enabled: bool,
    /// A vocabulary file (one label per line, `#` comments); empty for the built-in one.
    pub vocabulary: PathBuf,
    /// A label becomes a tag when its probability (softmax over the vocabulary) reaches this.
    pub threshold: f32,
    /// Tags per photo at most, the most likely first.
    pub max_per_photo: usize,
}

/// What [`Engine::tag_library`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagSummary {
    /// Photos scored.
    pub scored: usize,
    /// Tags written.
    pub tags: usize,
    /// Smart album memberships written.
    pub album_members: usize,
}

/// Longest tag a person may give, in bytes.
const MAX_USER_TAG: usize = 64;

/// A person's tag, trimmed, when it is one line of 1 to [`MAX_USER_TAG`] bytes.
fn user_tag(raw: &str) -> Result<&str> {
    crate::input::one_line(raw, MAX_USER_TAG, "a tag")
}

/// A tag and how many usable photos carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagCount {
    /// The tag.
    pub tag: String,
    /// Photos with it.
    pub photos: usize,
}

impl Engine {
    /// Tags a photo with a person's tag (trimmed, one line of 1 to 64 bytes); whether the
    /// photo exists.
    pub async fn tag_photo(&self, photo: PhotoId, tag: &str) -> Result<bool> {
        Ok(self.store().add_user_tag(photo, user_tag(tag)?).await?)
    }

    /// Removes a person's tag from a photo; whether it had it.
    pub async fn untag_photo(&self, photo: PhotoId, tag: &str) -> Result<bool> {
        Ok(self.store().remove_user_tag(photo, user_tag(tag)?).await?)
    }

    /// Every tag (any source) with the number of usable photos that carry it, most used first.
    pub async fn tag_counts(&self) -> Result<Vec<TagCount>> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for t in self.store().live_tags(None).await? {
            *counts.entry(t.tag).or_default() += 1;
        }
        let mut tags: Vec<TagCount> = counts
            .into_iter()
            .map(|(tag, photos)| TagCount { tag, photos })
            .collect();
        tags.sort_by(|a, b| b.photos.cmp(&a.photos).then_with(|| a.tag.cmp(&b.tag)));
        Ok(tags)
    }

    /// Scores every photo whose current embedding by `clip` has not been scored against the
    /// configured vocabulary, stores its tags, and brings the text index in step (it must not
    /// be open elsewhere in this process).
    pub async fn tag_library(&self, clip: &Clip) -> Result<TagSummary> {
        self.tag_tally
            .lock()
            .map(|mut t| *t = TagSummary::default())
            .ok();
        let mut handlers = Handlers {
            owns: &[JobKind::Tag],
            embed: Vec::new(),
            tag: Some(clip),
            caption: None,
        };
        let ran = self.run_jobs(&mut handlers, &|| false, &|_, _| {}).await?;
        let mut text = self.open_text()?;
        self.sync_text(&mut text).await?;
        let tagged = self.tag_tally.lock().map_or(TagSummary::default(), |t| *t);
        Ok(TagSummary {
            scored: ran.done(JobKind::Tag, None),
            ..tagged
        })
    }

    /// The tagging handler: scores the jobs' embeddings against the vocabulary and the smart
    /// albums of the tagger the jobs are for, and stores the tags in one transaction.
    pub(crate) async fn tag_jobs(&self, clip: &Clip, jobs: &[Job]) -> Result<Vec<Outcome>> {
        let settings = &self.settings().tags;
        let labels = self.vocabulary()?;
        let albums = self.store().albums().await?;
        let tagger = tagger_id(clip.model_id(), &labels, &albums);
        let mut outcomes: Vec<Outcome> = vec![Ok(()); jobs.len()];
        // Jobs of another tagger are of no use any more: the scopes follow at the next run.
        if jobs.iter().any(|j| j.scope != tagger) {
            return Ok(outcomes);
        }
        let scorer = self.scorer(clip, &tagger, &labels, &albums)?;
        let mut scored = Vec::with_capacity(jobs.len());
        let mut summary = TagSummary::default();
        for (job, outcome) in jobs.iter().zip(&mut outcomes) {
            let Some(e) = self.store().embedding(clip.model_id(), job.photo).await? else {
                continue;
            };
            if e.hash != job.hash {
                continue;
            }
            let embedding = Embedding {
                model_id: clip.model_id().to_owned(),
                vector: e.vector.clone(),
            };
            let tags: Vec<(String, f32)> = match scorer.zero_shot.classify(&embedding) {
                Ok(predictions) => predictions
                    .into_iter()
                    .filter(|p| p.probability >= settings.threshold)
                    .take(settings.max_per_photo)
                    .map(|p| (p.label, p.probability))
                    .collect(),
                Err(e) => {
                    *outcome = Err(e.to_string());
                    continue;
                }
            };
            summary.tags += tags.len();
            let albums: Vec<(i64, f32)> = scorer
                .albums
                .iter()
                .filter_map(|(id, threshold, direction)| {
                    let score = dot(direction, &e.vector);
                    (score >= *threshold).then_some((*id, score))
                })
                .collect();
            summary.album_members += albums.len();
            scored.push(ZeroShotTags {
                photo: e.photo,
                hash: e.hash,
                tags,
                albums,
            });
        }
        summary.scored = scored.len();
        self.store()
            .put_zero_shot_tags(&tagger, clip.model_id(), scored)
            .await?;
        if let Ok(mut tagged) = self.tag_tally.lock() {
            tagged.tags += summary.tags;
            tagged.album_members += summary.album_members;
        }
        Ok(outcomes)
    }

    /// The label embeddings and album directions of `tagger`, made once and kept while the
    /// tagger stays the same (a live library tags a few photos per pass).
    fn scorer(
        &self,
        clip: &Clip,
        tagger: &str,
        labels: &[String],
        albums: &[SmartAlbum],
    ) -> Result<Arc<Scorer>> {
        let mut cached = self
            .scorer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(scorer) = cached.as_ref().filter(|s| s.tagger == tagger) {
            return Ok(Arc::clone(scorer));
        }
        let scorer = Arc::new(Scorer {
            tagger: tagger.to_owned(),
            zero_shot: ZeroShot::new(clip, labels, &TEMPLATES)?,
            albums: albums
                .iter()
                .map(|a| Ok((a.id, a.threshold, prompt_direction(clip, &a.prompts)?)))
                .collect::<Result<_>>()?,
        });
        *cached = Some(Arc::clone(&scorer));
        Ok(scorer)
    }

    /// The id of the tagger `model_id` makes with the configured vocabulary and the albums.
    pub(crate) async fn tagger(&self, model_id: &str) -> Result<String> {
        let albums = self.store().albums().await?;
        Ok(tagger_id(model_id, &self.vocabulary()?, &albums))
    }

    /// The configured vocabulary's labels.
    fn vocabulary(&self) -> Result<Vec<String>> {
        let path = &self.settings().tags.vocabulary;
        let text = if path.as_os_str().is_empty() {
            VOCABULARY.to_owned()
        } else {
            fs_err::read_to_string(path).map_err(|e| Error::BadPath {
                path: path.clone(),
                reason: e.to_string(),
            })?
        };
        let labels: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        if labels.is_empty() {
            return Err(Error::BadPath {
                path: path.clone(),
                reason: "the tag vocabulary has no labels".to_owned(),
            });
        }
        Ok(labels)
    }

    /// The stored tags of every usable photo (or of `photo` only), by photo, for the text
    /// index.
    pub(crate) async fn tags_by_photo(
        &self,
        photo: Option<PhotoId>,
    ) -> Result<HashMap<PhotoId, Vec<String>>> {
        let mut by_photo: HashMap<PhotoId, Vec<String>> = HashMap::new();
        for t in self.store().live_tags(photo).await? {
            by_photo.entry(t.photo).or_default().push(t.tag);
        }
        Ok(by_photo)
    }
}

/// A tagger: the model and a fingerprint of the vocabulary, the templates and the smart
/// albums (a change of any re-scores every photo: that is how a new album is back-filled).
fn tagger_id(model_id: &str, labels: &[String], albums: &[SmartAlbum]) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    labels.hash(&mut hasher);
    TEMPLATES.hash(&mut hasher);
    for album in albums {
        (album.id, &album.prompts, album.threshold.to_bits()).hash(&mut hasher);
    }
    format!("{model_id}#{:016x}", hasher.finish())
}

/// The unit mean of an album's prompt embeddings: what its photos should look like.
fn prompt_direction(clip: &Clip, prompts: &[String]) -> Result<Vec<f32>> {
    let texts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let embeddings = clip.embed_texts(&texts)?;
    let mut mean = vec![0f32; clip.dim()];
    for e in &embeddings {
        for (m, v) in mean.iter_mut().zip(&e.vector) {
            *m += v;
        }
    }
    let norm = dot(&mean, &mean).sqrt().max(f32::MIN_POSITIVE);
    Ok(mean.into_iter().map(|m| m / norm).collect())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
