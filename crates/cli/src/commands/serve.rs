//! `shoebox serve`: the live library and the HTTP API in one process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use shoebox_engine::{Engine, Generations};
use shoebox_server::AppState;
use shoebox_web::WebContext;

use super::watch::{prepare, print, stop_on_signal};

pub(crate) async fn run(
    engine: Engine,
    paths: &[PathBuf],
    model_dir: Option<&Path>,
    listen: SocketAddr,
) -> anyhow::Result<()> {
    let engine = Arc::new(engine);
    let live = prepare(&engine, paths, model_dir).await?;
    let answerer = match engine.answerer(None) {
        Ok(model) => Some(Arc::new(model)),
        Err(e @ shoebox_engine::Error::CaptionerMissing { .. }) => {
            eprintln!("Questions are off: {e}");
            None
        }
        Err(e) => return Err(e.into()),
    };
    // With a Stable Diffusion model, the generated folder is a root, watched, before the first
    // variation lands in it (it cannot be one inside another root: variations stay off then).
    let ready = match engine.diffusion_installed() {
        Ok(()) => engine.generated_root().await.map(|_| ()),
        Err(e) => Err(e),
    };
    let generations = match ready {
        Ok(()) => Some(Arc::new(Generations::start(Arc::clone(&engine), None)?)),
        Err(
            e @ (shoebox_engine::Error::DiffusionMissing { .. }
            | shoebox_engine::Error::Library(shoebox_core::Error::Conflict(_))),
        ) => {
            eprintln!("Variations are off: {e}");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let state = AppState::new(
        Arc::clone(&engine),
        live.search.clone(),
        answerer.clone(),
        generations,
    );
    let app = shoebox_server::router(state).merge(shoebox_web::router(WebContext {
        engine: Arc::clone(&engine),
        live: live.search.clone(),
        answerer,
    }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("Listening on http://{}", listener.local_addr()?);
    let stopped = stop_on_signal();
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(shoebox_server::serve(listener, app, async move {
        let _ = server_stop.wait_for(|stop| *stop).await;
    }));
    if engine.roots().await?.is_empty() {
        eprintln!("No library roots yet: add one (shoebox roots add DIR) and restart.");
    } else {
        engine
            .watch(&live.models(), live.search.as_deref(), stopped, &print)
            .await?;
    }
    server.await??;
    eprintln!("Stopped.");
    Ok(())
}
