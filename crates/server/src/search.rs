//! Searches: by words and meaning, look-alikes of a library photo, and look-alikes of an
//! uploaded image — each a page of hits with the same filters and order.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shoebox_engine::{SearchForm, SearchPage};
use utoipa::IntoParams;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::extract::Params;
use crate::params::{Shared, photo_id};

/// The largest image a search may upload, in bytes.
pub(crate) const MAX_UPLOAD: usize = 20 * 1024 * 1024;
/// The most pixels an uploaded image may have (checked before decoding).
const MAX_UPLOAD_PIXELS: u64 = 50_000_000;

/// What to look for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Text {
    /// The query (`beach -people`, `2:dog + cat`); empty browses.
    #[serde(default)]
    q: String,
}

/// The answer of search routes without a CLIP model.
pub(crate) fn search_off() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "search_unavailable",
        "search is off until a CLIP model is installed (shoebox models pull)",
    )
}

/// A search by meaning and words (the engine's query syntax), with filters and an order.
#[utoipa::path(get, path = "/search", tag = "search", params(Text, SearchForm), responses((status = 200, description = "A page of hits", body = SearchPage), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 503, description = "No CLIP model", body = ErrorBody)))]
pub(crate) async fn search(
    State(state): Shared,
    _caller: Caller,
    Params(text): Params<Text>,
    Params(page): Params<SearchForm>,
) -> Result<Json<SearchPage>, ApiError> {
    let live = Arc::clone(state.live.as_ref().ok_or_else(search_off)?);
    let request = page.request(text.q)?;
    let page = state
        .model_work("search", move |state| {
            Ok(live.search(&state.engine.settings().search, &request)?)
        })
        .await?;
    Ok(Json(page))
}

/// Photos that look like a photo of the library.
#[utoipa::path(get, path = "/photos/{id}/similar", tag = "search", params(("id" = i64, Path, description = "The photo's id", minimum = 1), SearchForm), responses((status = 200, description = "A page of look-alikes", body = SearchPage), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such embedded photo", body = ErrorBody), (status = 503, description = "No CLIP model", body = ErrorBody)))]
pub(crate) async fn similar(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
    Params(page): Params<SearchForm>,
) -> Result<Json<SearchPage>, ApiError> {
    let id = photo_id(&id)?;
    let live = Arc::clone(state.live.as_ref().ok_or_else(search_off)?);
    let request = page.request(String::new())?;
    state
        .model_work("similar", move |state| {
            Ok(live.similar(&state.engine.settings().search, &request, id)?)
        })
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("embedded photo"))
}

/// Photos that look like an uploaded image (the request body: JPEG, PNG, WebP, GIF, TIFF or
/// BMP, at most 20 MiB and 50 megapixels).
#[utoipa::path(post, path = "/similar", tag = "search", params(SearchForm), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The image's bytes"), responses((status = 200, description = "A page of look-alikes", body = SearchPage), (status = 400, description = "Not an image, or too many pixels", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 413, description = "Over 20 MiB"), (status = 503, description = "No CLIP model", body = ErrorBody)))]
pub(crate) async fn similar_to_upload(
    State(state): Shared,
    _caller: Caller,
    Params(page): Params<SearchForm>,
    image: axum::body::Bytes,
) -> Result<Json<SearchPage>, ApiError> {
    let live = Arc::clone(state.live.as_ref().ok_or_else(search_off)?);
    let request = page.request(String::new())?;
    let mut limits = state.engine.settings().indexer.clone();
    limits.max_image_pixels = limits.max_image_pixels.min(MAX_UPLOAD_PIXELS);
    let page = state
        .model_work("similar_to_image", move |state| {
            let pixels = shoebox_engine::decode_pixels(&image, &limits)
                .map_err(|why| ApiError::bad_request(format!("not a usable image: {why}")))?;
            let settings = &state.engine.settings().search;
            Ok(live.similar_to_image(settings, &request, &pixels)?)
        })
        .await?;
    Ok(Json(page))
}
