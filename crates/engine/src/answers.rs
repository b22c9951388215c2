//! Questions over a result set: one question asked of several photos (the hits of a search),
//! each answer reported as it comes, then summarised; cancellable between photos.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use shoebox_core::{Captioner, PhotoId};

use crate::{Engine, Result};

/// One photo's answer, or why it has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoAnswer {
    /// The photo.
    pub photo: PhotoId,
    /// Its file, when the library still has it.
    pub path: Option<PathBuf>,
    /// The answer.
    pub answer: Option<String>,
    /// Why there is no answer (an unreadable or vanished file).
    pub error: Option<String>,
}

/// What the answers add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnswerSummary {
    /// Photos answered.
    pub answered: usize,
    /// Photos without an answer.
    pub failed: usize,
    /// Answers that were "yes" / "no".
    pub yes: usize,
    /// See `yes`.
    pub no: usize,
    /// The most common answer (the first given among equals) and how often it came.
    pub most_common: Option<(String, usize)>,
    /// Whether the run was cancelled before every photo was asked.
    pub cancelled: bool,
}

impl Engine {
    /// Asks `question` of each photo in turn, calling `on_answer` as each answer comes; stops
    /// before the next photo once `cancel` is set. Bad input (an empty question, a language
    /// the model does not answer in) fails before any photo is asked.
    pub async fn ask_photos(
        &self,
        model: &dyn Captioner,
        photos: &[PhotoId],
        question: &str,
        lang: &str,
        cancel: &AtomicBool,
        on_answer: &mut (dyn FnMut(&PhotoAnswer) + Send),
    ) -> Result<AnswerSummary> {
        self.check_question(model, question, lang)?;
        let mut summary = AnswerSummary::default();
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        for (order, &photo) in photos.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                summary.cancelled = true;
                break;
            }
            let path = self.photo_path(photo).await?;
            let result = match &path {
                Some(path) => self
                    .answer_file(model, path, question, lang)
                    .map_err(|e| e.to_string()),
                None => Err("not in the library".to_owned()),
            };
            let answer = match result {
                Ok(text) => {
                    summary.answered += 1;
                    let key = text.trim().to_lowercase();
                    match key.as_str() {
                        "yes" => summary.yes += 1,
                        "no" => summary.no += 1,
                        _ => {}
                    }
                    counts.entry(key).or_insert((0, order)).0 += 1;
                    PhotoAnswer {
                        photo,
                        path,
                        answer: Some(text),
                        error: None,
                    }
                }
                Err(reason) => {
                    summary.failed += 1;
                    PhotoAnswer {
                        photo,
                        path,
                        answer: None,
                        error: Some(reason),
                    }
                }
            };
            on_answer(&answer);
        }
        summary.most_common = counts
            .into_iter()
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
            .map(|(answer, (n, _))| (answer, n));
        Ok(summary)
    }
}
