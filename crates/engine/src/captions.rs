//! Captions: the captioning stage (each usable photo without a current caption by the
//! captioner, in each configured language it writes), stored per photo × model × language and
//! sent to the text index.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use shoebox_core::{
    Captioner, JobKind, MetadataStore, PendingPhoto, PhotoId, StoredCaption, priority,
};
use shoebox_text::Caption;

use crate::jobs::{Work, job_key};
use crate::{Engine, Result};

/// The `[captions]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionSettings {
    /// Whether `shoebox index` captions photos.
    pub enabled: bool,
    /// Languages to caption in (ISO 639-1).
    pub languages: Vec<String>,
    /// Photos captioned per run at most; 0 for all.
    pub limit: u32,
    /// Text each caption continues; empty for none.
    pub prompt: String,
    /// Hours of the day (UTC) when captioning runs, `"START-END"` (end excluded; `"22-6"`
    /// wraps past midnight); empty for any time.
    pub utc_hours: String,
}

impl CaptionSettings {
    /// The `utc_hours` window as (start, end) hours; `None` for any time.
    pub(crate) fn window(&self) -> std::result::Result<Option<(u8, u8)>, String> {
        let spec = self.utc_hours.trim();
        if spec.is_empty() {
            return Ok(None);
        }
        let bad = || format!("captions.utc_hours: {spec:?} is not like \"1-6\" (hours 0-24)");
        let (start, end) = spec.split_once('-').ok_or_else(bad)?;
        let hour = |h: &str| {
            h.trim()
                .parse::<u8>()
                .ok()
                .filter(|h| *h <= 24)
                .ok_or_else(bad)
        };
        Ok(Some((hour(start)? % 24, hour(end)? % 24)))
    }
}

/// The hour of the day now, UTC.
fn utc_hour() -> u8 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u8::try_from(secs / 3600 % 24).unwrap_or(0)
}

/// Whether `hour` (0-23) falls in `[start, end)`, wrapping past midnight; a window whose start
/// is its end is the whole day.
fn in_window((start, end): (u8, u8), hour: u8) -> bool {
    match start.cmp(&end) {
        std::cmp::Ordering::Less => (start..end).contains(&hour),
        std::cmp::Ordering::Greater => hour >= start || hour < end,
        std::cmp::Ordering::Equal => true,
    }
}

/// What [`Engine::caption_library`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptionSummary {
    /// Captions written.
    pub captioned: usize,
    /// Photos that could not be read, with the reason.
    pub failed: Vec<(PhotoId, String)>,
    /// Configured languages the captioner does not write.
    pub unsupported_languages: Vec<String>,
    /// Photos left for a later run because the hour is outside `captions.utc_hours`.
    pub deferred: usize,
    /// Mean seconds per caption (0 when none was written).
    pub mean_seconds: f64,
}

impl Engine {
    /// Captions every usable photo that lacks a current caption by `model` in a configured
    /// language (at most `captions.limit` per language), stores each as it is written (an
    /// interrupted run keeps what it did), and brings the text index in step (it must not be
    /// open elsewhere in this process).
    /// `progress(done, total)`.
    pub async fn caption_library(
        &self,
        model: &dyn Captioner,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<CaptionSummary> {
        let limit = match self.settings().captions.limit {
            0 => u32::MAX,
            limit => limit,
        };
        let summary = self.caption_pending(model, limit, progress).await?;
        let mut text = self.open_text()?;
        self.sync_text(&mut text).await?;
        Ok(summary)
    }

    /// Captions up to `limit` photos awaiting a caption per language and stores each (the
    /// text index is left to the caller).
    pub(crate) async fn caption_pending(
        &self,
        model: &dyn Captioner,
        limit: u32,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<CaptionSummary> {
        let settings = &self.settings().captions;
        let window = settings
            .window()
            .map_err(|e| crate::Error::Settings(Box::new(figment::Error::from(e))))?;
        let roots = self.store().roots().await?;
        let mut summary = CaptionSummary::default();
        let mut seconds = 0.0;
        for lang in &settings.languages {
            if !model.writes(lang) {
                summary.unsupported_languages.push(lang.clone());
                continue;
            }
            let scope = format!("{}:{lang}", model.model_id());
            let work: Work<PendingPhoto> = self
                .store()
                .pending_captions(model.model_id(), lang, u32::MAX)
                .await?
                .into_iter()
                .map(|p| (job_key(p.photo, &p.hash), p))
                .collect();
            self.enqueue(JobKind::Caption, &scope, priority::CAPTION, &work, |p| {
                p.photo
            })
            .await?;
            let total = work.len().min(usize::try_from(limit).unwrap_or(usize::MAX));
            progress(0, total);
            let mut done = 0;
            while done < total {
                if let Some(window) = window
                    && !in_window(window, utc_hour())
                {
                    summary.deferred += total - done;
                    break;
                }
                // One at a time: a caption takes seconds, and a lease should cover what it
                // holds.
                let Some(job) = self.claim(JobKind::Caption, &scope, 1).await?.pop() else {
                    break;
                };
                done += 1;
                let Some((p, root)) = work
                    .get(&job.key)
                    .and_then(|p| Some((p, roots.iter().find(|r| r.id == p.root)?)))
                else {
                    self.complete(vec![job.id]).await?;
                    continue;
                };
                let started = Instant::now();
                let path = root.path.join(&p.rel_path);
                let image = match shoebox_indexer::load_pixels(&path, &self.settings().indexer) {
                    Ok(image) => image,
                    Err(reason) => {
                        self.retry_later(&job, &reason).await?;
                        summary.failed.push((p.photo, reason));
                        continue;
                    }
                };
                let text = model.caption(&image, lang, &settings.prompt)?;
                let caption = StoredCaption {
                    photo: p.photo,
                    hash: p.hash,
                    lang: lang.clone(),
                    text,
                };
                self.store()
                    .put_captions(model.model_id(), vec![caption])
                    .await?;
                self.complete(vec![job.id]).await?;
                let took = started.elapsed().as_secs_f64();
                tracing::info!(photo = %p.photo, lang, seconds = took, "captioned");
                seconds += took;
                summary.captioned += 1;
                progress(done, total);
            }
        }
        if summary.captioned > 0 {
            summary.mean_seconds = seconds / summary.captioned as f64;
        }
        Ok(summary)
    }

    /// The stored captions of every usable photo (or of `photo` only), by photo, for the text
    /// index.
    pub(crate) async fn captions_by_photo(
        &self,
        photo: Option<PhotoId>,
    ) -> Result<HashMap<PhotoId, Vec<Caption>>> {
        let mut by_photo: HashMap<PhotoId, Vec<Caption>> = HashMap::new();
        for c in self.store().live_captions(photo).await? {
            by_photo.entry(c.photo).or_default().push(Caption {
                lang: c.lang,
                text: c.text,
            });
        }
        Ok(by_photo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(hours: &str) -> CaptionSettings {
        CaptionSettings {
            enabled: true,
            languages: vec!["en".to_owned()],
            limit: 0,
            prompt: String::new(),
            utc_hours: hours.to_owned(),
        }
    }

    #[test]
    fn hour_windows_parse_and_wrap_past_midnight() {
        assert_eq!(settings("").window(), Ok(None));
        assert_eq!(settings(" 1-6 ").window(), Ok(Some((1, 6))));
        assert_eq!(settings("22-24").window(), Ok(Some((22, 0))));
        for bad in ["6", "a-b", "1-25", "-3"] {
            assert!(settings(bad).window().is_err(), "{bad}");
        }
        assert!(in_window((1, 6), 1) && in_window((1, 6), 5) && !in_window((1, 6), 6));
        assert!(in_window((22, 6), 23) && in_window((22, 6), 0) && !in_window((22, 6), 12));
        assert!(in_window((3, 3), 17));
    }
}
