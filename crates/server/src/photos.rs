//! One photo by id: its record, its thumbnails (cached by content hash), its tags (people add
//! and remove their own) and a zero-shot ranking of labels for it.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shoebox_core::{MetadataStore, Photo, TagOnPhoto};
use shoebox_engine::{Prediction, one_line, thumbnail_path};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::{ErrorBody, internal};
use crate::extract::JsonBody;
use crate::params::{Shared, photo_id};
use crate::search::search_off;

/// Longest classification label, in bytes.
const MAX_LABEL: usize = 100;

/// A photo's record.
#[utoipa::path(get, path = "/photos/{id}", tag = "photos", params(("id" = i64, Path, description = "The photo's id", minimum = 1)), responses((status = 200, description = "The photo's record", body = Photo), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such photo", body = ErrorBody)))]
pub(crate) async fn photo(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Photo>, ApiError> {
    let id = photo_id(&id)?;
    state
        .engine
        .photo(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("photo"))
}

/// A photo's thumbnail of a configured size, cached by its content hash.
#[utoipa::path(get, path = "/photos/{id}/thumbnail/{size}", tag = "photos", params(("id" = i64, Path, description = "The photo's id", minimum = 1), ("size" = u32, Path, description = "A configured thumbnail size (256 and 1280 by default)")), responses((status = 200, description = "JPEG", content_type = "image/jpeg"), (status = 304, description = "Not modified"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such photo or thumbnail", body = ErrorBody)))]
pub(crate) async fn thumbnail(
    State(state): Shared,
    _caller: Caller,
    Path((id, size)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = photo_id(&id)?;
    let sizes = &state.engine.settings().thumbnails.sizes;
    let size = size
        .parse::<u32>()
        .ok()
        .filter(|s| sizes.contains(s))
        .ok_or_else(|| ApiError::bad_request(format!("thumbnail sizes are {sizes:?}")))?;
    let photo = state
        .engine
        .photo(id)
        .await?
        .ok_or_else(|| ApiError::not_found("photo"))?;
    let hash = photo.hash.ok_or_else(|| ApiError::not_found("thumbnail"))?;
    let etag = format!("\"{}-{size}\"", hash.to_hex());
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let path = thumbnail_path(&state.engine.data_dir().thumbnails(), size, &hash);
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|_| ApiError::not_found("thumbnail"))?;
        let mut response = Response::new(Body::from(bytes));
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(|e| internal(&e))?,
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(response)
}

/// A photo's tags, with source and score.
#[utoipa::path(get, path = "/photos/{id}/tags", tag = "photos", params(("id" = i64, Path, description = "The photo's id", minimum = 1)), responses((status = 200, description = "Its tags: zero_shot ones with their probability, user and exif ones", body = Vec<TagOnPhoto>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn photo_tags(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TagOnPhoto>>, ApiError> {
    let id = photo_id(&id)?;
    Ok(Json(state.engine.store().photo_tags(id).await?))
}

/// Tags a photo (a person's tag).
#[utoipa::path(put, path = "/photos/{id}/tags/{tag}", tag = "photos", params(("id" = i64, Path, description = "The photo's id", minimum = 1), ("tag" = String, Path, description = "The tag")), responses((status = 204, description = "Tagged"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such photo", body = ErrorBody)))]
pub(crate) async fn add_tag(
    State(state): Shared,
    _caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if !state.engine.tag_photo(photo_id(&id)?, &tag).await? {
        return Err(ApiError::not_found("photo"));
    }
    state.nudge();
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a person's tag from a photo.
#[utoipa::path(delete, path = "/photos/{id}/tags/{tag}", tag = "photos", params(("id" = i64, Path, description = "The photo's id", minimum = 1), ("tag" = String, Path, description = "The tag")), responses((status = 204, description = "Removed"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "The photo has no such tag of a person's", body = ErrorBody)))]
pub(crate) async fn remove_tag(
    State(state): Shared,
    _caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if !state.engine.untag_photo(photo_id(&id)?, &tag).await? {
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
#[utoipa::path(post, path = "/photos/{id}/classify", tag = "photos", params(("id" = i64, Path, description = "The photo's id", minimum = 1)), request_body = Labels, responses((status = 200, description = "Label, probability and rank, most likely first", body = Vec<Prediction>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such embedded photo", body = ErrorBody), (status = 503, description = "No CLIP model", body = ErrorBody)))]
pub(crate) async fn classify(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Labels>,
) -> Result<Json<Vec<Prediction>>, ApiError> {
    let id = photo_id(&id)?;
    let live = Arc::clone(state.live.as_ref().ok_or_else(search_off)?);
    if !(2..=32).contains(&body.labels.len()) {
        return Err(ApiError::bad_request("give 2 to 32 labels"));
    }
    let labels: Vec<String> = body
        .labels
        .iter()
        .map(|l| one_line(l, MAX_LABEL, "a label").map(str::to_owned))
        .collect::<Result<_, _>>()?;
    let predictions = state
        .model_work("classify", move |_| Ok(live.classify(id, &labels)?))
        .await?
        .ok_or_else(|| ApiError::not_found("embedded photo"))?;
    Ok(Json(predictions))
}
