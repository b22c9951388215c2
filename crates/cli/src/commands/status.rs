//! `shoebox status`.

use shoebox_engine::Engine;

use crate::output;

pub(crate) async fn run(engine: &Engine, failures: u32, json: bool) -> anyhow::Result<()> {
    let status = engine.status(failures).await?;
    if json {
        return output::json(&status);
    }
    let mut lines = vec![
        format!("Library in {}", engine.data_dir().root().display()),
        format!("  roots:   {}", status.roots),
        format!("  indexed: {}", status.ok),
        format!("  failed:  {}", status.failed),
        format!("  gone:    {}", status.gone),
    ];
    if !status.failures.is_empty() {
        lines.push(format!("Failures (newest {}):", status.failures.len()));
        lines.extend(
            status
                .failures
                .iter()
                .map(|f| format!("  {}/{}: {}", f.root, f.rel_path, f.reason)),
        );
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
