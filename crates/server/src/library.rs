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
use utoipa::{IntoParams, ToSchema};

/// A body documented loosely (the engine's and core's types carry no schema yet).
type Any = serde_json::Value;
use shoebox_core::{MetadataStore, SmartAlbum};
use shoebox_engine::{AlbumSummary, Progress, Rates, SearchPage, SearchRequest, StageRate};

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::error::internal;
use crate::extract::{JsonBody, Params};
use crate::routes::{one_line, photo_id, search_off};
use crate::{ApiError, AppState};

type Shared = State<Arc<AppState>>;

/// How often the progress stream sends a snapshot.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// A tag and how many photos have it.
#[derive(Serialize, ToSchema)]
pub(crate) struct TagCount {
    tag: String,
    photos: usize,
}

/// Every tag with the number of photos that have it, most used first.
#[utoipa::path(get, path = "/tags", tag = "library", responses((status = 200, description = "Tags with their photo counts, most used first", body = Vec<TagCount>), (status = 401, description = "Not signed in", body = ErrorBody)))]
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
#[utoipa::path(get, path = "/albums", tag = "albums", responses((status = 200, description = "Smart albums with their sizes", body = Any), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn albums(
    State(state): Shared,
    _caller: Caller,
) -> Result<Json<Vec<AlbumSummary>>, ApiError> {
    Ok(Json(state.engine.albums().await?))
}

/// A smart album's definition.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AlbumDefinition {
    name: String,
    prompts: Vec<String>,
    threshold: f32,
}

/// Creates or redefines an album; the live library fills it.
#[utoipa::path(post, path = "/albums", tag = "albums", request_body = AlbumDefinition, responses((status = 201, description = "The album; the live library fills it", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn put_album(
    State(state): Shared,
    _caller: Caller,
    JsonBody(d): JsonBody<AlbumDefinition>,
) -> Result<(StatusCode, Json<SmartAlbum>), ApiError> {
    let album = state
        .engine
        .put_album(&d.name, &d.prompts, d.threshold)
        .await?;
    state.nudge();
    Ok((StatusCode::CREATED, Json(album)))
}

/// An album and its photos.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlbumPhotos {
    #[schema(value_type = Object)]
    album: SmartAlbum,
    photos: Vec<Member>,
}

/// A photo in an album, with its similarity to the prompts.
#[derive(Serialize, ToSchema)]
struct Member {
    photo: i64,
    score: f32,
}

/// An album and its photos, best first.
#[utoipa::path(get, path = "/albums/{name}", tag = "albums", params(("name" = String, Path, description = "The album's name")), responses((status = 200, description = "The album and its photos, best first", body = AlbumPhotos), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such album", body = ErrorBody)))]
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
#[utoipa::path(delete, path = "/albums/{name}", tag = "albums", params(("name" = String, Path, description = "The album's name")), responses((status = 204, description = "Removed"), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such album", body = ErrorBody)))]
pub(crate) async fn delete_album(
    State(state): Shared,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.remove_album(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Look-alikes' query string.
#[derive(Deserialize, IntoParams)]
pub(crate) struct SimilarQuery {
    /// Hits per page, 1 to 200 (default 50).
    limit: Option<usize>,
}

/// Photos that look like a photo of the library.
#[utoipa::path(get, path = "/photos/{id}/similar", tag = "search", params(("id" = String, Path, description = "The photo's id"), SimilarQuery), responses((status = 200, description = "A page of look-alikes", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such embedded photo", body = ErrorBody), (status = 503, description = "No CLIP model", body = ErrorBody)))]
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

/// A tag from a path.
fn tag_name(raw: &str) -> Result<&str, ApiError> {
    one_line(raw, 64, "a tag")
}

/// A photo's tags, with source and score.
#[utoipa::path(get, path = "/photos/{id}/tags", tag = "photos", params(("id" = String, Path, description = "The photo's id")), responses((status = 200, description = "Its tags: zero_shot ones with their probability, user and exif ones", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn photo_tags(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<shoebox_core::TagOnPhoto>>, ApiError> {
    let id = photo_id(&id)?;
    Ok(Json(state.engine.store().photo_tags(id).await?))
}

/// Tags a photo (a person's tag).
#[utoipa::path(put, path = "/photos/{id}/tags/{tag}", tag = "photos", params(("id" = String, Path, description = "The photo's id"), ("tag" = String, Path, description = "The tag")), responses((status = 204, description = "Tagged"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such photo", body = ErrorBody)))]
pub(crate) async fn add_tag(
    State(state): Shared,
    _caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (id, tag) = (photo_id(&id)?, tag_name(&tag)?);
    if !state.engine.store().add_user_tag(id, tag).await? {
        return Err(ApiError::not_found("photo"));
    }
    state.nudge();
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a person's tag from a photo.
#[utoipa::path(delete, path = "/photos/{id}/tags/{tag}", tag = "photos", params(("id" = String, Path, description = "The photo's id"), ("tag" = String, Path, description = "The tag")), responses((status = 204, description = "Removed"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "The photo has no such tag of a person's", body = ErrorBody)))]
pub(crate) async fn remove_tag(
    State(state): Shared,
    _caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (id, tag) = (photo_id(&id)?, tag_name(&tag)?);
    if !state.engine.store().remove_user_tag(id, tag).await? {
        return Err(ApiError::not_found("tag"));
    }
    state.nudge();
    Ok(StatusCode::NO_CONTENT)
}

/// Labels to rank a photo against.
#[derive(Deserialize, ToSchema)]
pub(crate) struct Labels {
    /// 2 to 32 labels, each 1 to 100 bytes ("cat", "a birthday party").
    labels: Vec<String>,
}

/// Zero-shot classification of a photo against the given labels: each label's probability
/// (softmax over the labels) and rank.
#[utoipa::path(post, path = "/photos/{id}/classify", tag = "photos", params(("id" = String, Path, description = "The photo's id")), request_body = Labels, responses((status = 200, description = "Label, probability and rank, most likely first", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such embedded photo", body = ErrorBody), (status = 503, description = "No CLIP model", body = ErrorBody)))]
pub(crate) async fn classify(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Labels>,
) -> Result<Json<Any>, ApiError> {
    let id = photo_id(&id)?;
    let live = Arc::clone(state.live.as_ref().ok_or_else(search_off)?);
    if !(2..=32).contains(&body.labels.len()) {
        return Err(ApiError::bad_request("give 2 to 32 labels"));
    }
    let labels: Vec<String> = body
        .labels
        .iter()
        .map(|l| one_line(l, 100, "a label").map(str::to_owned))
        .collect::<Result<_, _>>()?;
    let predictions = tokio::task::spawn_blocking(move || live.classify(id, &labels))
        .await
        .map_err(|e| internal(&e))??
        .ok_or_else(|| ApiError::not_found("embedded photo"))?;
    Ok(Json(
        serde_json::to_value(predictions).map_err(|e| internal(&e))?,
    ))
}

/// The largest image a search may upload, in bytes.
pub(crate) const MAX_UPLOAD: usize = 20 * 1024 * 1024;
/// The most pixels an uploaded image may have (checked before decoding).
const MAX_UPLOAD_PIXELS: u64 = 50_000_000;

/// Photos that look like an uploaded image (the request body: JPEG, PNG, WebP, GIF, TIFF or
/// BMP, at most 20 MiB and 50 megapixels).
#[utoipa::path(post, path = "/similar", tag = "search", params(SimilarQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The image's bytes"), responses((status = 200, description = "A page of look-alikes", body = Any), (status = 400, description = "Not an image, or too many pixels", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 413, description = "Over 20 MiB"), (status = 503, description = "No CLIP model", body = ErrorBody)))]
pub(crate) async fn similar_to_upload(
    State(state): Shared,
    _caller: Caller,
    Params(query): Params<SimilarQuery>,
    image: axum::body::Bytes,
) -> Result<Json<SearchPage>, ApiError> {
    let live = Arc::clone(state.live.as_ref().ok_or_else(search_off)?);
    let request = SearchRequest {
        limit: crate::routes::page_size(query.limit)?,
        ..SearchRequest::default()
    };
    let mut limits = state.engine.settings().indexer.clone();
    limits.max_image_pixels = limits.max_image_pixels.min(MAX_UPLOAD_PIXELS);
    let settings = state.engine.settings().search.clone();
    let page = tokio::task::spawn_blocking(move || {
        let pixels = shoebox_engine::decode_pixels(&image, &limits)
            .map_err(|why| ApiError::bad_request(format!("not a usable image: {why}")))?;
        Ok::<_, ApiError>(live.similar_to_image(&settings, &request, &pixels)?)
    })
    .await
    .map_err(|e| internal(&e))??;
    Ok(Json(page))
}

/// A question about a photo.
#[derive(Deserialize, ToSchema)]
pub(crate) struct Question {
    /// 1 to 500 bytes.
    question: String,
    /// The answer's language (ISO 639-1; default `en`): the answering model's only.
    #[serde(default = "english")]
    lang: String,
}

fn english() -> String {
    "en".to_owned()
}

/// An answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct Answer {
    answer: String,
}

/// Visual question answering about one photo.
#[utoipa::path(post, path = "/photos/{id}/ask", tag = "photos", params(("id" = String, Path, description = "The photo's id")), request_body = Question, responses((status = 200, description = "The answer", body = Answer), (status = 400, description = "Bad input, or a language the model does not answer in", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such photo", body = ErrorBody), (status = 503, description = "No answering model", body = ErrorBody)))]
pub(crate) async fn ask(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
    JsonBody(q): JsonBody<Question>,
) -> Result<Json<Answer>, ApiError> {
    let id = photo_id(&id)?;
    let model = Arc::clone(state.answerer.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "answers_unavailable",
            "questions are off until an answering model is installed (shoebox models pull)",
        )
    })?);
    if q.question.len() > 500 || q.lang.len() > 8 {
        return Err(ApiError::bad_request(
            "a question is at most 500 bytes, a language a short code (en, de, …)",
        ));
    }
    // The photo's path comes from the store, by id.
    let path = state
        .engine
        .photo_path(id)
        .await?
        .ok_or_else(|| ApiError::not_found("photo"))?;
    let engine = Arc::clone(&state.engine);
    let answer = tokio::task::spawn_blocking(move || {
        engine.answer_file(model.as_ref(), &path, &q.question, &q.lang)
    })
    .await
    .map_err(|e| internal(&e))??;
    Ok(Json(Answer { answer }))
}
