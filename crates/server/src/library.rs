//! Tags, smart albums, look-alikes and the progress stream.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::{Deserialize, Serialize};
use shoebox_core::{MetadataStore, SmartAlbum};
use shoebox_engine::{AlbumSummary, Progress, Rates, SearchPage, SearchRequest, StageRate};

use crate::auth::Caller;
use crate::error::internal;
use crate::extract::{JsonBody, Params};
use crate::routes::{photo_id, search_off};
use crate::{ApiError, AppState};

type Shared = State<Arc<AppState>>;

/// How often the progress stream sends a snapshot.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

#[derive(Serialize)]
pub(crate) struct TagCount {
    tag: String,
    photos: usize,
}

/// Every tag with the number of photos that have it, most used first.
pub(crate) async fn tags(
    State(state): Shared,
    _caller: Caller,
) -> Result<Json<Vec<TagCount>>, ApiError> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in state.engine.store().live_tags(None).await? {
        *counts.entry(t.tag).or_default() += 1;
    }
    let mut tags: Vec<TagCount> = counts
        .into_iter()
        .map(|(tag, photos)| TagCount { tag, photos })
        .collect();
    tags.sort_by(|a, b| b.photos.cmp(&a.photos).then_with(|| a.tag.cmp(&b.tag)));
    Ok(Json(tags))
}

/// Every smart album with its size.
pub(crate) async fn albums(
    State(state): Shared,
    _caller: Caller,
) -> Result<Json<Vec<AlbumSummary>>, ApiError> {
    Ok(Json(state.engine.albums().await?))
}

#[derive(Deserialize)]
pub(crate) struct AlbumDefinition {
    name: String,
    prompts: Vec<String>,
    threshold: f32,
}

/// Creates or redefines an album; the live library fills it.
pub(crate) async fn put_album(
    State(state): Shared,
    _caller: Caller,
    JsonBody(d): JsonBody<AlbumDefinition>,
) -> Result<(StatusCode, Json<SmartAlbum>), ApiError> {
    let album = state
        .engine
        .put_album(&d.name, &d.prompts, d.threshold)
        .await?;
    if let Some(live) = &state.live {
        live.nudge();
    }
    Ok((StatusCode::CREATED, Json(album)))
}

#[derive(Serialize)]
pub(crate) struct AlbumPhotos {
    album: SmartAlbum,
    photos: Vec<Member>,
}

#[derive(Serialize)]
struct Member {
    photo: i64,
    score: f32,
}

/// An album and its photos, best first.
pub(crate) async fn album(
    State(state): Shared,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<AlbumPhotos>, ApiError> {
    let (album, photos) = state.engine.album(&name).await?;
    let photos = photos
        .into_iter()
        .map(|(photo, score)| Member {
            photo: photo.0,
            score,
        })
        .collect();
    Ok(Json(AlbumPhotos { album, photos }))
}

/// Removes an album.
pub(crate) async fn delete_album(
    State(state): Shared,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.remove_album(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct SimilarQuery {
    limit: Option<usize>,
}

/// Photos that look like a photo of the library.
pub(crate) async fn similar(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
    Params(query): Params<SimilarQuery>,
) -> Result<Json<SearchPage>, ApiError> {
    let id = photo_id(&id)?;
    let live = state.live.as_ref().ok_or_else(search_off)?;
    let request = SearchRequest {
        limit: crate::routes::page_size(query.limit)?,
        ..SearchRequest::default()
    };
    live.similar(&state.engine.settings().search, &request, id)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("embedded photo"))
}

#[derive(Serialize)]
struct ProgressEvent {
    #[serde(flatten)]
    progress: Progress,
    /// Each stage's pace, in the order of `stages`.
    rates: Vec<StageRate>,
}

/// The pipeline's progress as server-sent events, a snapshot a second.
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
                    let rates_now = rates.update(&progress);
                    let body = ProgressEvent {
                        progress,
                        rates: rates_now,
                    };
                    match serde_json::to_string(&body) {
                        Ok(json) => Event::default().event("progress").data(json),
                        Err(e) => Event::default()
                            .event("error")
                            .data(internal(&e).to_string()),
                    }
                }
                Err(e) => Event::default()
                    .event("error")
                    .data(ApiError::from(e).to_string()),
            };
            Some((Ok(event), (state, rates, tick)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
