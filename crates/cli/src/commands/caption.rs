//! `shoebox caption` and `shoebox ask`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shoebox_engine::Engine;

use crate::output;

#[derive(Serialize)]
struct Captioned<'a> {
    path: &'a Path,
    caption: String,
}

pub(crate) fn run(
    engine: &Engine,
    images: &[PathBuf],
    prompt: &str,
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let blip = engine.captioner(model_dir)?;
    let captions = images
        .iter()
        .map(|path| {
            Ok(Captioned {
                path,
                caption: engine.caption_file(&blip, path, prompt)?,
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

#[derive(Serialize)]
struct Answered<'a> {
    path: &'a Path,
    question: &'a str,
    answer: String,
}

pub(crate) fn ask(
    engine: &Engine,
    image: &Path,
    question: &str,
    lang: &str,
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let blip = engine.answerer(model_dir)?;
    let answer = engine.answer_file(&blip, image, question, lang)?;
    if json {
        return output::json(&Answered {
            path: image,
            question,
            answer,
        });
    }
    output::text([answer])
}
