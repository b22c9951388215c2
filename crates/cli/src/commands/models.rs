//! `shoebox models list | pull | verify`.

use std::io::IsTerminal;

use shoebox_engine::Engine;

use crate::cli::ModelsCommand;
use crate::output;
use crate::progress::DownloadBar;

pub(crate) fn run(engine: &Engine, command: ModelsCommand) -> anyhow::Result<()> {
    let default = || engine.settings().models.clip.clone();
    match command {
        ModelsCommand::List { json } => {
            let models = engine.models()?;
            if json {
                return output::json(&models);
            }
            output::text(models.iter().map(|m| {
                let state = match (m.installed, m.active) {
                    (true, true) => "installed, in use",
                    (true, false) => "installed",
                    (false, true) => "in use, not installed",
                    (false, false) => "not installed",
                };
                format!(
                    "{:28} {:6} {:4}-d  {state:22} {}",
                    m.name,
                    m.family.to_string(),
                    m.dimension,
                    m.description
                )
            }))
        }
        ModelsCommand::Pull { name } => {
            let name = name.unwrap_or_else(default);
            let mut bar = DownloadBar::new(!std::io::stderr().is_terminal());
            let fetched = engine.pull_model(&name, &mut bar)?;
            let dir = engine.settings().models_dir().join(&name);
            output::text([if fetched.is_empty() {
                format!("{name} is already installed in {}", dir.display())
            } else {
                format!(
                    "{name}: {} checked and installed in {}",
                    fetched.join(", "),
                    dir.display()
                )
            }])
        }
        ModelsCommand::Verify { name, json } => {
            let name = name.unwrap_or_else(default);
            let files = engine.verify_model(&name)?;
            if json {
                output::json(&files)?;
            } else {
                output::text(files.iter().map(|f| match &f.actual_sha256 {
                    Some(actual) => format!("{:28} {} (sha256 {actual})", f.file, f.state),
                    None => format!("{:28} {}", f.file, f.state),
                }))?;
            }
            let bad = files.iter().filter(|f| f.state != "ok").count();
            anyhow::ensure!(
                bad == 0,
                "{bad} file(s) of {name} missing or corrupt: run `shoebox models pull {name}`"
            );
            Ok(())
        }
    }
}
