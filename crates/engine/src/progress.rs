//! Progress of the pipeline: per stage, how many usable photos have its data current out of
//! all of them, with the queue's jobs by state, as a snapshot; [`Rates`] turns successive
//! snapshots into a rate and an ETA per stage. `shoebox status --watch` and the API's stream
//! follow it.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use shoebox_core::{JobCounts, JobFailure, JobKind, JobQueue, MetadataStore};

use crate::{Degraded, Engine, Result};

/// Failures listed in a snapshot at most.
const FAILURES: u32 = 20;
/// Weight of the newest interval in a rate (an exponential moving average).
const SMOOTHING: f64 = 0.3;

/// One stage's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageProgress {
    /// `embed`, `tag`, or `caption` (with `lang`).
    pub stage: JobKind,
    /// The caption's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The model (or tagger) the stage is for.
    pub model: String,
    /// Usable photos with this stage's data current.
    pub done: u64,
    /// Usable photos.
    pub total: u64,
    /// The queue's jobs of this kind (any model) waiting, running, and dead.
    pub jobs: JobCounts,
}

/// A snapshot of the pipeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    /// Usable photos (scanned and readable).
    pub photos: u64,
    /// The stages that are on, in pipeline order.
    pub stages: Vec<StageProgress>,
    /// Dead jobs (out of attempts), newest first.
    pub failures: Vec<JobFailure>,
    /// What the live library in this process is waiting out, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded: Option<Degraded>,
}

/// A stage's pace between snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageRate {
    /// Photos per second (smoothed).
    pub per_second: f64,
    /// Seconds until done at that pace; `None` while nothing moves.
    pub eta_seconds: Option<f64>,
}

/// Turns successive [`Progress`] snapshots into rates and ETAs.
#[derive(Debug, Default)]
pub struct Rates {
    last: Option<(Instant, Vec<u64>)>,
    rates: Vec<f64>,
}

impl Rates {
    /// The pace of each stage of `progress` (taken now) since the previous snapshot.
    pub fn update(&mut self, progress: &Progress) -> Vec<StageRate> {
        self.update_at(progress, Instant::now())
    }

    fn update_at(&mut self, progress: &Progress, now: Instant) -> Vec<StageRate> {
        let done: Vec<u64> = progress.stages.iter().map(|s| s.done).collect();
        if let Some((then, before)) = &self.last
            && before.len() == done.len()
        {
            let seconds = now.duration_since(*then).as_secs_f64();
            if seconds > 0.0 {
                self.rates.resize(done.len(), 0.0);
                for ((rate, now), before) in self.rates.iter_mut().zip(&done).zip(before) {
                    let instant = now.saturating_sub(*before) as f64 / seconds;
                    *rate = SMOOTHING * instant + (1.0 - SMOOTHING) * *rate;
                }
            }
        } else {
            self.rates = vec![0.0; done.len()];
        }
        self.last = Some((now, done));
        progress
            .stages
            .iter()
            .zip(&self.rates)
            .map(|(stage, &per_second)| StageRate {
                per_second,
                eta_seconds: (per_second > 1e-9)
                    .then(|| stage.total.saturating_sub(stage.done) as f64 / per_second),
            })
            .collect()
    }
}

impl Engine {
    /// The usable photos whose data for a stage's scope is not current: its jobs, counted,
    /// when the queue keeps the scope's work; else (no run has set the scope) the store's
    /// listing.
    async fn unfinished(&self, kind: JobKind, scope: &str) -> Result<u64> {
        if let Some(counts) = self.queue().scope_counts(kind, scope).await? {
            return Ok(counts.queued + counts.running + counts.dead);
        }
        let store = self.store();
        let listed = match kind {
            JobKind::Embed => store.pending_embeddings(scope, u32::MAX).await?.len(),
            JobKind::Tag => {
                let model = scope.split_once('#').map_or(scope, |(model, _)| model);
                store.pending_tagging(model, scope, u32::MAX).await?.len()
            }
            JobKind::Caption => {
                let (model, lang) = scope.rsplit_once(':').unwrap_or((scope, ""));
                store.pending_captions(model, lang, u32::MAX).await?.len()
            }
        };
        Ok(u64::try_from(listed).unwrap_or(u64::MAX))
    }

    /// The pipeline's progress for the models the live library in this process works with
    /// (the configured ones when none runs here).
    pub async fn progress(&self) -> Result<Progress> {
        let store = self.store();
        let photos = store.status(0).await?.ok;
        let jobs: HashMap<String, JobCounts> = self
            .queue()
            .job_counts()
            .await?
            .into_iter()
            .map(|c| (c.kind.clone(), c))
            .collect();
        let stage = |stage: JobKind, lang: Option<String>, model: &str, done: u64| StageProgress {
            stage,
            lang,
            model: model.to_owned(),
            done,
            total: photos,
            jobs: jobs.get(stage.as_str()).cloned().unwrap_or(JobCounts {
                kind: stage.as_str().to_owned(),
                ..JobCounts::default()
            }),
        };
        let running = self
            .embedding_model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let clip = running.as_ref().unwrap_or(&self.settings().models.clip);
        let unembedded = self.unfinished(JobKind::Embed, clip).await?;
        let mut stages = vec![stage(
            JobKind::Embed,
            None,
            clip,
            photos.saturating_sub(unembedded),
        )];
        if self.settings().tags.enabled {
            let tagger = self.tagger(clip).await?;
            let untagged = self.unfinished(JobKind::Tag, &tagger).await?;
            stages.push(stage(
                JobKind::Tag,
                None,
                &tagger,
                photos.saturating_sub(unembedded + untagged),
            ));
        }
        if self.settings().captions.enabled {
            let captioner = &self.settings().models.captioner;
            for lang in &self.settings().captions.languages {
                let uncaptioned = self
                    .unfinished(JobKind::Caption, &format!("{captioner}:{lang}"))
                    .await?;
                stages.push(stage(
                    JobKind::Caption,
                    Some(lang.clone()),
                    captioner,
                    photos.saturating_sub(uncaptioned),
                ));
            }
        }
        Ok(Progress {
            photos,
            stages,
            failures: self.queue().dead_jobs(FAILURES).await?,
            degraded: self.degraded(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn progress(done: u64) -> Progress {
        Progress {
            photos: 100,
            stages: vec![StageProgress {
                stage: JobKind::Embed,
                lang: None,
                model: "m".to_owned(),
                done,
                total: 100,
                jobs: JobCounts::default(),
            }],
            failures: Vec::new(),
            degraded: None,
        }
    }

    #[test]
    fn rates_smooth_the_pace_and_give_the_time_left() {
        let mut rates = Rates::default();
        let t0 = Instant::now();
        let first = rates.update_at(&progress(10), t0);
        assert_eq!(first[0].eta_seconds, None, "no pace from one snapshot");
        // 20 photos in 2 s: 10/s, smoothed to 3/s; 70 left.
        let second = rates.update_at(&progress(30), t0 + Duration::from_secs(2));
        assert!((second[0].per_second - 3.0).abs() < 1e-9, "{second:?}");
        assert!((second[0].eta_seconds.unwrap_or(0.0) - 70.0 / 3.0).abs() < 1e-6);
        // Nothing moves: the pace decays, the ETA grows.
        let third = rates.update_at(&progress(30), t0 + Duration::from_secs(4));
        assert!(third[0].per_second < second[0].per_second);
        assert!(third[0].eta_seconds > second[0].eta_seconds);
    }
}
