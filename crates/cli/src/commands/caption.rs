//! `shoebox caption` and `shoebox ask`.

use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicBool;

use serde::Serialize;
use shoebox_core::{Captioner, PhotoId, SearchFilters};
use shoebox_engine::{AnswerSummary, Engine, PhotoAnswer, SearchRequest, SortOrder};

use crate::output;

#[derive(Serialize)]
struct Captioned<'a> {
    path: &'a Path,
    caption: String,
}

pub(crate) fn run(
    engine: &Engine,
    images: &[PathBuf],
    lang: &str,
    prompt: &str,
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let model = engine.captioner(model_dir)?;
    if !model.writes(lang) {
        anyhow::bail!("{} does not write {lang:?}", model.model_id());
    }
    let captions = images
        .iter()
        .map(|path| {
            Ok(Captioned {
                path,
                caption: engine.caption_file(&model, path, lang, prompt)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if json {
        return output::json(&captions);
    }
    output::text(
        captions
            .iter()
            .map(|c| format!("{}: {}", c.path.display(), c.caption)),
    )
}

/// What `shoebox ask` asks about.
pub(crate) enum Target {
    Photo(PathBuf),
    Search { query: String, top: usize },
}

#[derive(Serialize)]
struct Answered<'a> {
    question: &'a str,
    path: &'a Path,
    answer: String,
}

#[derive(Serialize)]
struct AnsweredAll<'a> {
    question: &'a str,
    answers: Vec<PhotoAnswer>,
    summary: AnswerSummary,
}

pub(crate) async fn ask(
    engine: &Engine,
    target: &Target,
    question: &str,
    lang: &str,
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let model = engine.answerer(model_dir)?;
    let (query, top) = match target {
        Target::Photo(path) => {
            let answer = engine.answer_file(&model, path, question, lang)?;
            return if json {
                output::json(&Answered {
                    question,
                    path,
                    answer,
                })
            } else {
                output::text([answer])
            };
        }
        Target::Search { query, top } => (query, *top),
    };
    let clip = engine.clip(None)?;
    let indices = engine.indices(&clip).await?;
    let request = SearchRequest {
        query: query.clone(),
        filters: SearchFilters::default(),
        sort: SortOrder::Relevance,
        limit: top,
        cursor: None,
        explain: false,
    };
    let photos: Vec<PhotoId> = engine
        .search(&clip, &indices, &request)?
        .hits
        .iter()
        .map(|h| h.photo)
        .collect();
    let mut answers = Vec::with_capacity(photos.len());
    let mut printed = Ok(());
    // Each answer is printed as it comes. The library's cancel flag stays unset here: Ctrl-C
    // ends the process.
    let summary = engine
        .ask_photos(
            &model,
            &photos,
            question,
            lang,
            &AtomicBool::new(false),
            &mut |a| {
                if !json && printed.is_ok() {
                    printed = output::text([line(a)]);
                }
                answers.push(a.clone());
            },
        )
        .await?;
    printed?;
    if json {
        return output::json(&AnsweredAll {
            question,
            answers,
            summary,
        });
    }
    let common = summary
        .most_common
        .map_or_else(String::new, |(a, n)| format!("; most common: {a:?} ({n})"));
    output::text([format!(
        "{} answered, {} failed: yes {}, no {}{common}",
        summary.answered, summary.failed, summary.yes, summary.no
    )])
}

fn line(a: &PhotoAnswer) -> String {
    let path = a
        .path
        .as_ref()
        .map_or_else(|| format!("photo {}", a.photo), |p| p.display().to_string());
    match (&a.answer, &a.error) {
        (Some(answer), _) => format!("{path}: {answer}"),
        (None, error) => format!("{path}: no answer ({})", error.as_deref().unwrap_or("")),
    }
}
