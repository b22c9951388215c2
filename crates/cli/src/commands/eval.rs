//! `shoebox eval zero-shot | retrieval`.

use std::path::Path;

use shoebox_engine::Engine;

use crate::cli::EvalCommand;
use crate::output;

fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub(crate) fn run(
    engine: &Engine,
    command: EvalCommand,
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let clip = engine.clip(model_dir)?;
    match command {
        EvalCommand::ZeroShot { dir, templates } => {
            let report = engine.eval_zero_shot(&clip, &dir, &templates)?;
            if json {
                return output::json(&report);
            }
            let mut lines = vec![
                format!(
                    "{} photos, {} classes: top-1 {}, top-5 {}",
                    report.photos,
                    report.classes.len(),
                    percent(report.top1),
                    percent(report.top5)
                ),
                format!(
                    "{:<24} {:>7} {:>7} {:>7}",
                    "class", "photos", "top-1", "top-5"
                ),
            ];
            lines.extend(report.classes.iter().map(|c| {
                format!(
                    "{:<24} {:>7} {:>7} {:>7}",
                    c.label,
                    c.photos,
                    percent(c.top1),
                    percent(c.top5)
                )
            }));
            output::text(lines)
        }
        EvalCommand::Retrieval { file } => {
            let report = engine.eval_retrieval(&clip, &file)?;
            if json {
                return output::json(&report);
            }
            let row = |name: &str, r: [f64; 3]| {
                format!(
                    "{name:<14} {:>7} {:>7} {:>7}",
                    percent(r[0]),
                    percent(r[1]),
                    percent(r[2])
                )
            };
            output::text([
                format!("{} images, {} captions", report.images, report.captions),
                format!("{:<14} {:>7} {:>7} {:>7}", "", "R@1", "R@5", "R@10"),
                row("image → text", report.image_to_text),
                row("text → image", report.text_to_image),
            ])
        }
    }
}
