//! Captions: the captioning stage's handler (each usable photo without a current caption by
//! the captioner, in each configured language it writes, as jobs), stored per photo × model ×
//! language and sent to the text index.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use shoebox_core::{Captioner, Job, JobKind, MetadataStore, PhotoId, StoredCaption};
use shoebox_text::Caption;

use crate::jobs::{Handlers, Outcome};
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

/// Whether captions may run now (`captions.utc_hours`).
pub(crate) fn in_caption_hours(settings: &CaptionSettings) -> Result<bool> {
    let window = settings
        .window()
        .map_err(|e| crate::Error::Settings(Box::new(figment::Error::from(e))))?;
    Ok(window.is_none_or(|window| in_window(window, utc_hour())))
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
    /// language (at most `captions.limit` per run), stores each as it is written (an
    /// interrupted run keeps what it did), and brings the text index in step (it must not be
    /// open elsewhere in this process). `progress(done, total)`.
    pub async fn caption_library(
        &self,
        model: &dyn Captioner,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<CaptionSummary> {
        let limit = match self.settings().captions.limit {
            0 => usize::MAX,
            limit => usize::try_from(limit).unwrap_or(usize::MAX),
        };
        let mut handlers = Handlers {
            owns: &[JobKind::Caption],
            embed: Vec::new(),
            tag: None,
            caption: Some(model),
        };
        let started = Instant::now();
        let done = AtomicUsize::new(0);
        let ran = self
            .run_jobs(
                &mut handlers,
                &|| done.load(Ordering::Relaxed) >= limit,
                &|settled, total| {
                    done.store(settled, Ordering::Relaxed);
                    progress(settled, total.min(limit));
                },
            )
            .await?;
        let mut text = self.open_text()?;
        self.sync_text(&mut text).await?;
        let captioned = ran.done(JobKind::Caption, None);
        Ok(CaptionSummary {
            captioned,
            failed: ran
                .failed
                .into_iter()
                .map(|(_, photo, reason)| (photo, reason))
                .collect(),
            unsupported_languages: ran.unsupported_languages,
            deferred: ran.deferred,
            mean_seconds: if captioned > 0 {
                started.elapsed().as_secs_f64() / captioned as f64
            } else {
                0.0
            },
        })
    }

    /// The captioning handler: each job's photo decoded upright and captioned in the job's
    /// language, stored as it is written.
    pub(crate) async fn caption_jobs(
        &self,
        model: &dyn Captioner,
        jobs: &[Job],
    ) -> Result<Vec<Outcome>> {
        let prompt = &self.settings().captions.prompt;
        let roots = self.store().roots().await?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            let lang = job
                .scope
                .strip_prefix(model.model_id())
                .and_then(|rest| rest.strip_prefix(':'))
                .unwrap_or_default();
            let Some(path) = self.job_file(job, &roots).await? else {
                outcomes.push(Ok(()));
                continue;
            };
            let started = Instant::now();
            let image = match shoebox_indexer::load_pixels(&path, &self.settings().indexer) {
                Ok(image) => image,
                Err(reason) => {
                    outcomes.push(Err(reason));
                    continue;
                }
            };
            let text = model.caption(&image, lang, prompt)?;
            let caption = StoredCaption {
                photo: job.photo,
                hash: job.hash,
                lang: lang.to_owned(),
                text,
            };
            self.store()
                .put_captions(model.model_id(), vec![caption])
                .await?;
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(photo = %job.photo, lang, seconds, "captioned");
            outcomes.push(Ok(()));
        }
        Ok(outcomes)
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
