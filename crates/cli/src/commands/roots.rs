//! `shoebox roots add|list|remove`.

use shoebox_engine::Engine;

use crate::cli::RootsCommand;
use crate::output;

pub(crate) async fn run(engine: &Engine, command: RootsCommand) -> anyhow::Result<()> {
    match command {
        RootsCommand::Add { paths } => {
            let mut lines = Vec::new();
            for path in paths {
                let (root, new) = engine.add_root(&path).await?;
                let what = if new { "added" } else { "already a root" };
                lines.push(format!("{what}: {} (id {})", root.path.display(), root.id));
            }
            output::text(lines)
        }
        RootsCommand::List { json } => {
            let roots = engine.roots().await?;
            if json {
                return output::json(&roots);
            }
            output::text(
                roots
                    .iter()
                    .map(|r| format!("{}\t{}", r.id, r.path.display())),
            )
        }
        RootsCommand::Remove { root } => {
            let removed = engine.remove_root(&root).await?;
            output::text([format!(
                "removed: {} (id {})",
                removed.path.display(),
                removed.id
            )])
        }
    }
}
