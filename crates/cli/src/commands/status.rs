//! `shoebox status`.

use std::time::Duration;

use serde::Serialize;
use shoebox_core::LibraryStatus;
use shoebox_engine::{Engine, Progress, Rates, StageProgress, StageRate};

use crate::output;

#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    status: LibraryStatus,
    pipeline: Progress,
}

pub(crate) async fn run(engine: &Engine, failures: u32, json: bool) -> anyhow::Result<()> {
    let status = engine.status(failures).await?;
    let pipeline = engine.progress().await?;
    if json {
        return output::json(&Report { status, pipeline });
    }
    let mut lines = vec![
        format!("Library in {}", engine.data_dir().root().display()),
        format!("  roots:   {}", status.roots),
        format!("  indexed: {}", status.ok),
        format!("  failed:  {}", status.failed),
        format!("  gone:    {}", status.gone),
    ];
    lines.push("Pipeline:".to_owned());
    lines.extend(pipeline.stages.iter().map(|s| stage_line(s, None)));
    if !status.failures.is_empty() {
        lines.push(format!("Failures (newest {}):", status.failures.len()));
        lines.extend(
            status
                .failures
                .iter()
                .map(|f| format!("  {}/{}: {}", f.root, f.rel_path, f.reason)),
        );
    }
    if !pipeline.failures.is_empty() {
        lines.push("Dead jobs, out of attempts (newest first; `shoebox status --retry` queues them again):".to_owned());
        lines.extend(pipeline.failures.iter().map(|f| {
            format!(
                "  {} of photo {} after {} tries: {}",
                f.kind, f.photo, f.attempts, f.reason
            )
        }));
    }
    if !status.problems.is_empty() {
        lines.push("Folder problems:".to_owned());
        lines.extend(
            status
                .problems
                .iter()
                .map(|p| format!("  {}/{}: {}", p.root, p.rel_path, p.reason)),
        );
    }
    output::text(lines)
}

/// `status --watch`: the stages every second, with their pace, until Ctrl-C.
pub(crate) async fn follow(engine: &Engine) -> anyhow::Result<()> {
    let mut rates = Rates::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let progress = engine.progress().await?;
        let paces = rates.update(&progress);
        let mut lines = vec![format!("{} photos", progress.photos)];
        lines.extend(
            progress
                .stages
                .iter()
                .zip(&paces)
                .map(|(s, r)| stage_line(s, Some(r))),
        );
        lines.push(String::new());
        output::text(lines)?;
    }
}

/// `  embed (clip-vit-b32): 120 / 200 (60%), 3 queued, 1 running, 0 failed[, 4.2/s, 19 s left]`
fn stage_line(s: &StageProgress, rate: Option<&StageRate>) -> String {
    let name = match &s.lang {
        Some(lang) => format!("{} {lang}", s.stage),
        None => s.stage.to_string(),
    };
    let percent = if s.total == 0 {
        100.0
    } else {
        100.0 * s.done as f64 / s.total as f64
    };
    let mut line = format!(
        "  {name} ({}): {} / {} ({percent:.0}%), {} queued, {} running, {} dead",
        s.model, s.done, s.total, s.jobs.queued, s.jobs.running, s.jobs.dead
    );
    if let Some(rate) = rate {
        line.push_str(&format!(", {:.1}/s", rate.per_second));
        if let Some(eta) = rate.eta_seconds.filter(|_| s.done < s.total) {
            line.push_str(&format!(", {eta:.0} s left"));
        }
    }
    line
}
