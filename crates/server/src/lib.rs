//! Shoebox's HTTP API: the axum routes under `/api/v1` over the engine, with sign-in (a
//! first-run admin, argon2id passwords, session cookies with an anti-forgery token), login
//! throttling, body limits and security headers. Requests name photos by id only: no path from
//! a request ever reaches the file system.

mod account;
mod albums;
mod ask;
mod auth;
mod error;
mod extract;
mod headers;
mod library;
mod metrics;
mod original;
mod params;
mod photos;
mod routes;
mod search;
mod vary;

use std::sync::Arc;

use axum::Router;
use shoebox_engine::{Engine, Generations, ImageToText, LiveSearch};

pub use error::ApiError;

/// What the handlers share.
pub struct AppState {
    /// The library.
    pub engine: Arc<Engine>,
    /// Live searches; `None` without a CLIP model.
    pub live: Option<Arc<LiveSearch>>,
    /// The question-answering model; `None` when none is installed.
    pub answerer: Option<Arc<ImageToText>>,
    /// The queue of "more like this" requests; `None` without a Stable Diffusion model.
    pub generations: Option<Arc<Generations>>,
    metrics: metrics::Metrics,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state of a server over `engine` (with `live` when there is a CLIP model, the
    /// `answerer` when one is installed, and `generations` with a Stable Diffusion model).
    pub fn new(
        engine: Arc<Engine>,
        live: Option<Arc<LiveSearch>>,
        answerer: Option<Arc<ImageToText>>,
        generations: Option<Arc<Generations>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            engine,
            live,
            answerer,
            generations,
            metrics: metrics::Metrics::default(),
        })
    }

    /// Runs model work (encoding a query or an image, answering) on the blocking pool, so it
    /// never holds up the threads that serve other requests, and times it by `operation`.
    pub(crate) async fn model_work<T: Send + 'static>(
        self: &Arc<Self>,
        operation: &'static str,
        work: impl FnOnce(&Self) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let result = work(&state);
            state
                .metrics
                .observe_model(operation, started.elapsed().as_secs_f64());
            result
        })
        .await
        .map_err(|e| error::internal(&e))?
    }

    /// Asks the live library for a pass (work that no file change announces: an album to
    /// fill, a tag to index); nothing without one.
    pub(crate) fn nudge(&self) {
        if let Some(live) = &self.live {
            live.nudge();
        }
    }
}

/// Every route, with the security headers and body limit.
pub fn router(state: Arc<AppState>) -> Router {
    routes::routes(state)
}

/// Serves `app` (the API's [`router`], with the web UI's beside it) on `listener` until
/// `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
