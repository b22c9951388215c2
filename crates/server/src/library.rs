//! The library as a whole: its roots, every tag with its count, the models and what is
//! serving, and the pipeline's progress (a snapshot, or a stream of them).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Serialize;
use shoebox_core::Root;
use shoebox_engine::{ModelStatus, Progress, Rates, StageRate, TagCount};
use utoipa::ToSchema;

use crate::ApiError;
use crate::ask::json_event;
use crate::auth::{Admin, Caller};
use crate::error::ErrorBody;
use crate::params::Shared;

/// How often the progress stream sends a snapshot.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The library roots (admin only: they are paths on the server).
#[utoipa::path(get, path = "/roots", tag = "library", responses((status = 200, description = "The library roots", body = Vec<Root>), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn roots(
    State(state): Shared,
    _admin: Admin,
) -> Result<Json<Vec<Root>>, ApiError> {
    Ok(Json(state.engine.roots().await?))
}

/// Every tag with the number of photos that have it, most used first.
#[utoipa::path(get, path = "/tags", tag = "library", responses((status = 200, description = "Tags with their photo counts, most used first", body = Vec<TagCount>), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn tags(
    State(state): Shared,
    _caller: Caller,
) -> Result<Json<Vec<TagCount>>, ApiError> {
    Ok(Json(state.engine.tag_counts().await?))
}

/// The catalog's models and what this server runs.
#[derive(Serialize, ToSchema)]
pub(crate) struct Models {
    /// Every CLIP model of the catalog: installed, and the one the settings name.
    catalog: Vec<ModelStatus>,
    /// The model searches use now (a swap to the configured one may be under way).
    searching_with: Option<String>,
    /// Whether an answering model is loaded (questions about photos).
    answering: bool,
}

/// The models and their state.
#[utoipa::path(get, path = "/models", tag = "library", responses((status = 200, description = "The models and what is serving", body = Models), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn models(
    State(state): Shared,
    _caller: Caller,
) -> Result<Json<Models>, ApiError> {
    Ok(Json(Models {
        catalog: state.engine.models()?,
        searching_with: state.live.as_ref().map(|live| live.model_id()),
        answering: state.answerer.is_some(),
    }))
}

/// The pipeline's progress.
#[utoipa::path(get, path = "/status", tag = "library", responses((status = 200, description = "Pipeline progress", body = Progress), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn status(
    State(state): Shared,
    _caller: Caller,
) -> Result<Json<Progress>, ApiError> {
    Ok(Json(state.engine.progress().await?))
}

/// Dead jobs queued again.
#[derive(Serialize, ToSchema)]
pub(crate) struct Retried {
    /// How many.
    queued: u64,
}

/// Queues every dead job (out of attempts) again with fresh attempts, after its cause is
/// fixed (admin only).
#[utoipa::path(post, path = "/jobs/retry", tag = "library", responses((status = 200, description = "The dead jobs queued again", body = Retried), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn retry_jobs(
    State(state): Shared,
    _admin: Admin,
) -> Result<Json<Retried>, ApiError> {
    Ok(Json(Retried {
        queued: state.engine.retry_dead_jobs(None).await?,
    }))
}

/// A snapshot with each stage's pace.
#[derive(Serialize, ToSchema)]
pub(crate) struct ProgressEvent {
    #[serde(flatten)]
    progress: Progress,
    /// Each stage's pace, in the order of `stages`.
    rates: Vec<StageRate>,
}

/// The pipeline's progress as server-sent events: `progress` (a [`ProgressEvent`]) every
/// second.
#[utoipa::path(get, path = "/status/stream", tag = "library", responses((status = 200, description = "Server-sent events: a progress snapshot with rates every second", content_type = "text/event-stream"), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn progress_stream(
    State(state): Shared,
    _caller: Caller,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(
        (
            state,
            Rates::default(),
            tokio::time::interval(PROGRESS_EVERY),
        ),
        |(state, mut rates, mut tick)| async move {
            tick.tick().await;
            let event = match state.engine.progress().await {
                Ok(progress) => {
                    let now = rates.update(&progress);
                    json_event(
                        "progress",
                        &ProgressEvent {
                            progress,
                            rates: now,
                        },
                    )
                }
                Err(e) => json_event("error", &ApiError::from(e).body()),
            };
            Some((Ok(event), (state, rates, tick)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
