//! `shoebox watch`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shoebox_engine::{
    Clip, Engine, Error, ImageToText, LiveEvent, LiveModels, LiveSearch, WatchMethod,
};

/// The models and live searches of a live library, as the settings say.
pub(crate) struct Live {
    clip: Option<Arc<Clip>>,
    captioner: Option<ImageToText>,
    /// What searches read (the active model: during a swap, the old one).
    pub(crate) search: Option<Arc<LiveSearch>>,
}

impl Live {
    pub(crate) fn models(&self) -> LiveModels<'_> {
        LiveModels {
            clip: self.clip.clone(),
            captioner: self
                .captioner
                .as_ref()
                .map(|m| m as &dyn shoebox_core::Captioner),
        }
    }
}

/// Adds `paths` as roots and loads the models, saying on stderr which stages are off.
pub(crate) async fn prepare(
    engine: &Engine,
    paths: &[PathBuf],
    model_dir: Option<&Path>,
) -> anyhow::Result<Live> {
    for path in paths {
        engine.add_root(path).await?;
    }
    let clip = match engine.clip(model_dir) {
        Ok(clip) => Some(Arc::new(clip)),
        Err(e @ Error::ModelMissing { .. }) => {
            eprintln!("Search by meaning is off: {e}");
            None
        }
        Err(e) => return Err(e.into()),
    };
    // A model swap left unfinished (or the configured model just changed): searches go on
    // with the model they used until the configured one has embedded every photo.
    let active = match (&clip, engine.active_model()) {
        (Some(clip), Some(active)) if active != clip.model_id() && model_dir.is_none() => {
            match engine.clip_named(&active) {
                Ok(old) => Some(Arc::new(old)),
                Err(e) => {
                    eprintln!("Not keeping {active} for searches during the swap: {e}");
                    None
                }
            }
        }
        _ => None,
    };
    let captioner = if engine.settings().captions.enabled {
        match engine.captioner(None) {
            Ok(model) => Some(model),
            Err(e @ Error::CaptionerMissing { .. }) => {
                eprintln!("Captions are off: {e}");
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let search = match active.or_else(|| clip.clone()) {
        Some(active) => Some(Arc::new(engine.live_search(active).await?)),
        None => None,
    };
    Ok(Live {
        clip,
        captioner,
        search,
    })
}

pub(crate) async fn run(
    engine: &Engine,
    paths: &[PathBuf],
    model_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let live = prepare(engine, paths, model_dir).await?;
    if engine.roots().await?.is_empty() {
        anyhow::bail!("no library roots yet: run `shoebox watch PHOTO_FOLDER`");
    }
    engine
        .watch(
            &live.models(),
            live.search.as_deref(),
            stop_on_signal(),
            &print,
        )
        .await?;
    eprintln!("Stopped.");
    Ok(())
}

/// Turns true on Ctrl-C or SIGTERM.
pub(crate) fn stop_on_signal() -> tokio::sync::watch::Receiver<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    stopped
}

/// One line per event on stderr (stdout stays free for scripts).
pub(crate) fn print(event: &LiveEvent) {
    match event {
        LiveEvent::Watching(methods) => {
            for (root, method) in methods {
                let how = match method {
                    WatchMethod::Native => "notifications",
                    WatchMethod::Poll => "polling",
                    WatchMethod::Unreachable => "not reachable: kept, rescanned periodically",
                };
                eprintln!("Watching {} ({how})", root.display());
            }
        }
        LiveEvent::Pass(pass) => {
            let mut parts = Vec::new();
            if let Some(scan) = &pass.scan {
                parts.push(format!(
                    "{} new, {} changed, {} moved, {} removed, {} failed",
                    scan.new, scan.changed, scan.moved, scan.removed, scan.failed
                ));
            }
            for (n, what) in [
                (pass.embedded, "embedded"),
                (pass.reembedded, "embedded with the new model"),
                (pass.tagged, "tagged"),
                (pass.captioned, "captioned"),
            ] {
                if n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            }
            if !parts.is_empty() {
                eprintln!("{}", parts.join("; "));
            }
        }
        LiveEvent::Swapping { from, to } => eprintln!(
            "Swapping models: embedding every photo with {to}; searches use {from} until it is done"
        ),
        LiveEvent::Switched(to) => eprintln!("Searches now use {to}"),
        LiveEvent::Idle => eprintln!("Up to date; waiting for changes (Ctrl-C stops)."),
        LiveEvent::Degraded(degraded) => eprintln!(
            "{} (failed {} time(s) in a row; searches go on)",
            degraded.reason, degraded.failures
        ),
        LiveEvent::Recovered => eprintln!("Back to work: the library is reachable again."),
    }
}

/// Ctrl-C, or SIGTERM (as `docker stop` and systemd send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
