//! "More like this": a photo's Stable Diffusion variations. A request is queued and answered
//! at once with its status; its progress is a stream of server-sent events; it can be
//! cancelled. Finished variations are photos of their own (by id, downloadable as originals)
//! that searches show with `generated=included` or `only`.

use std::convert::Infallible;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use shoebox_core::VariationRecord;
use shoebox_engine::{Generations, JobStatus, VaryRequest};

use crate::ApiError;
use crate::ask::json_event;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::extract::JsonBody;
use crate::params::{Shared, number, photo_id};

/// Why variations are off.
fn vary_off() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "vary_unavailable",
        "variations are off until a Stable Diffusion model is installed ([vary] model in the \
         settings)",
    )
}

fn generations(state: &crate::AppState) -> Result<&Generations, ApiError> {
    state.generations.as_deref().ok_or_else(vary_off)
}

/// Queues variations of a photo; answers with the request's status (its id names it).
#[utoipa::path(post, path = "/photos/{id}/vary", tag = "vary", params(("id" = i64, Path, description = "The photo's id", minimum = 1)), request_body = VaryRequest, responses((status = 202, description = "Queued", body = JobStatus), (status = 400, description = "Bad input or over a limit", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such photo", body = ErrorBody), (status = 429, description = "Too many requests waiting", body = ErrorBody), (status = 503, description = "No Stable Diffusion model", body = ErrorBody)))]
pub(crate) async fn vary(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<VaryRequest>,
) -> Result<(StatusCode, Json<JobStatus>), ApiError> {
    let id = photo_id(&id)?;
    let queue = generations(&state)?;
    let plan = state.engine.plan_variation(id, &request).await?;
    let status = queue.submit(&state.engine, plan)?;
    Ok((StatusCode::ACCEPTED, Json(status)))
}

/// A variation request's status.
#[utoipa::path(get, path = "/vary/{job}", tag = "vary", params(("job" = u64, Path, description = "The request's id", minimum = 1)), responses((status = 200, description = "Where it stands", body = JobStatus), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such request", body = ErrorBody), (status = 503, description = "No Stable Diffusion model", body = ErrorBody)))]
pub(crate) async fn vary_status(
    State(state): Shared,
    _caller: Caller,
    Path(job): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    let job = job_id(&job)?;
    generations(&state)?
        .status(job)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("variation request"))
}

/// Cancels a variation request (a running one stops before its next step).
#[utoipa::path(delete, path = "/vary/{job}", tag = "vary", params(("job" = u64, Path, description = "The request's id", minimum = 1)), responses((status = 204, description = "Cancelled"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such request still waiting or running", body = ErrorBody), (status = 503, description = "No Stable Diffusion model", body = ErrorBody)))]
pub(crate) async fn cancel_vary(
    State(state): Shared,
    _caller: Caller,
    Path(job): Path<String>,
) -> Result<StatusCode, ApiError> {
    let job = job_id(&job)?;
    if generations(&state)?.cancel(job) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "variation request still waiting or running",
        ))
    }
}

/// A variation request's progress: server-sent events `status` (a [`JobStatus`]) whenever it
/// moves on, the last once it has finished.
#[utoipa::path(get, path = "/vary/{job}/stream", tag = "vary", params(("job" = u64, Path, description = "The request's id", minimum = 1)), responses((status = 200, description = "Server-sent events: `status` at each step, until it ends", content_type = "text/event-stream"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such request", body = ErrorBody), (status = 503, description = "No Stable Diffusion model", body = ErrorBody)))]
pub(crate) async fn vary_stream(
    State(state): Shared,
    _caller: Caller,
    Path(job): Path<String>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job = job_id(&job)?;
    let queue = generations(&state)?;
    let first = queue
        .status(job)
        .ok_or_else(|| ApiError::not_found("variation request"))?;
    let changes = queue.subscribe();
    // State: the status to send next (the first at once), the last one sent, and whether
    // that one ended the request.
    let stream = futures_util::stream::unfold(
        (state, changes, Some(first), None::<JobStatus>),
        move |(state, mut changes, next, last)| async move {
            if last.as_ref().is_some_and(JobStatus::finished) {
                return None;
            }
            let status = match next {
                Some(status) => status,
                None => loop {
                    // A closed channel means the queue is gone: end the stream.
                    changes.changed().await.ok()?;
                    let now = state.generations.as_deref()?.status(job)?;
                    if last.as_ref() != Some(&now) {
                        break now;
                    }
                },
            };
            let event = json_event("status", &status);
            Some((Ok(event), (state, changes, None, Some(status))))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The variations made from a photo, oldest first (each with its own photo id once read).
#[utoipa::path(get, path = "/photos/{id}/variations", tag = "vary", params(("id" = i64, Path, description = "The photo's id", minimum = 1)), responses((status = 200, description = "Its variations", body = Vec<VariationRecord>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn variations(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<VariationRecord>>, ApiError> {
    let id = photo_id(&id)?;
    Ok(Json(state.engine.variations_of(id).await?))
}

fn job_id(raw: &str) -> Result<u64, ApiError> {
    number(raw, "variation request").map(i64::cast_unsigned)
}
