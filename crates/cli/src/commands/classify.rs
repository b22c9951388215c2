//! `shoebox classify`.

use std::path::Path;

use shoebox_engine::Engine;

use crate::output;

pub(crate) fn run(
    engine: &Engine,
    image: &Path,
    labels: &[String],
    templates: &[String],
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let labels: Vec<String> = labels
        .iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    anyhow::ensure!(!labels.is_empty(), "--labels needs at least one label");
    let clip = engine.clip(model_dir)?;
    let predictions = engine.classify(&clip, image, &labels, templates)?;
    if json {
        return output::json(&predictions);
    }
    let total = predictions.len();
    output::text(predictions.iter().map(|p| {
        format!(
            "{} ({:.1}%), ranked {} out of {total} labels",
            p.label,
            100.0 * p.probability,
            p.rank
        )
    }))
}
