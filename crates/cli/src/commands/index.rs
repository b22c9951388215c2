//! `shoebox index`.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use shoebox_engine::{Engine, ScanSummary};

use crate::output;
use crate::progress::Bar;

#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    summary: ScanSummary,
    seconds: f64,
}

pub(crate) async fn run(engine: &Engine, paths: &[PathBuf], json: bool) -> anyhow::Result<()> {
    if paths.is_empty() && engine.roots().await?.is_empty() {
        anyhow::bail!("no library roots yet: run `shoebox index PHOTO_FOLDER`");
    }
    let bar = Bar::new(json);
    let started = Instant::now();
    let summary = engine.index(paths, &bar).await;
    bar.finish();
    let summary = summary?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        return output::json(&Report { summary, seconds });
    }
    let read = summary.new + summary.changed + summary.failed;
    let mut lines = vec![
        format!(
            "Scanned {} files in {seconds:.1} s ({:.1} photos/s read)",
            summary.files,
            read as f64 / seconds.max(1e-9)
        ),
        format!(
            "  {} new, {} changed, {} moved, {} removed, {} failed, {} unchanged, {} not images",
            summary.new,
            summary.changed,
            summary.moved,
            summary.removed,
            summary.failed,
            summary.unchanged,
            summary.skipped
        ),
    ];
    if summary.failed + summary.problems > 0 {
        lines.push(format!(
            "  {} failed, {} folder problems: see `shoebox status` for reasons",
            summary.failed, summary.problems
        ));
    }
    output::text(lines)
}
