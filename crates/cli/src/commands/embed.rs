//! `shoebox embed`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shoebox_engine::Engine;

use crate::output;

#[derive(Serialize)]
struct Row<'a> {
    input: String,
    model_id: &'a str,
    dim: usize,
    vector: &'a [f32],
}

pub(crate) fn run(
    engine: &Engine,
    images: &[PathBuf],
    texts: &[String],
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !images.is_empty() || !texts.is_empty(),
        "give --image FILE or --text TEXT"
    );
    let clip = engine.clip(model_dir)?;
    let texts_ref: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embeddings = engine
        .embed_files(&clip, images)?
        .into_iter()
        .chain(engine.embed_texts(&clip, &texts_ref)?);
    let inputs = images
        .iter()
        .map(|p| p.display().to_string())
        .chain(texts.iter().cloned());
    let embeddings: Vec<_> = inputs.zip(embeddings).collect();
    let rows: Vec<Row<'_>> = embeddings
        .iter()
        .map(|(input, e)| Row {
            input: input.clone(),
            model_id: &e.model_id,
            dim: e.dim(),
            vector: &e.vector,
        })
        .collect();
    if json {
        return output::json(&rows);
    }
    output::text(rows.iter().map(|r| {
        let head: Vec<String> = r
            .vector
            .iter()
            .take(4)
            .map(|v| format!("{v:+.4}"))
            .collect();
        format!(
            "{} ({}, {} dims): [{}, …]",
            r.input,
            r.model_id,
            r.dim,
            head.join(", ")
        )
    }))
}
