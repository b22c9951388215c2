//! Smart albums: made from prompts and a threshold, redefined, removed, and listed with their
//! photos best first. The live library fills them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shoebox_core::{PhotoId, SmartAlbum};
use shoebox_engine::AlbumSummary;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::extract::JsonBody;
use crate::params::Shared;

/// Every smart album with its size.
#[utoipa::path(get, path = "/albums", tag = "albums", responses((status = 200, description = "Smart albums with their sizes", body = Vec<AlbumSummary>), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn albums(
    State(state): Shared,
    _caller: Caller,
) -> Result<Json<Vec<AlbumSummary>>, ApiError> {
    Ok(Json(state.engine.albums().await?))
}

/// What an album holds: photos whose similarity to the prompts reaches the threshold.
#[derive(Deserialize, ToSchema)]
pub(crate) struct Definition {
    /// 1 to 16 prompts ("a dog in the snow").
    prompts: Vec<String>,
    /// Cosine similarity a photo must reach, -1 to 1 (0.25 is a good start).
    threshold: f32,
}

/// A new album.
#[derive(Deserialize, ToSchema)]
pub(crate) struct NewAlbum {
    /// 1 to 100 bytes, one line.
    name: String,
    #[serde(flatten)]
    definition: Definition,
}

/// Makes an album; the live library fills it.
#[utoipa::path(post, path = "/albums", tag = "albums", request_body = NewAlbum, responses((status = 201, description = "The album; the live library fills it", body = SmartAlbum), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 409, description = "An album of that name exists", body = ErrorBody)))]
pub(crate) async fn create_album(
    State(state): Shared,
    _caller: Caller,
    JsonBody(new): JsonBody<NewAlbum>,
) -> Result<(StatusCode, Json<SmartAlbum>), ApiError> {
    let name = new.name.trim();
    let taken = state.engine.albums().await?;
    if taken.iter().any(|a| a.album.name == name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("there is an album {name:?} already: change it with PUT"),
        ));
    }
    let d = new.definition;
    let album = state
        .engine
        .put_album(name, &d.prompts, d.threshold)
        .await?;
    state.nudge();
    Ok((StatusCode::CREATED, Json(album)))
}

/// Redefines an album; the live library re-scores every photo for it.
#[utoipa::path(put, path = "/albums/{name}", tag = "albums", params(("name" = String, Path, description = "The album's name")), request_body = Definition, responses((status = 200, description = "The album, redefined", body = SmartAlbum), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such album", body = ErrorBody)))]
pub(crate) async fn update_album(
    State(state): Shared,
    _caller: Caller,
    Path(name): Path<String>,
    JsonBody(d): JsonBody<Definition>,
) -> Result<Json<SmartAlbum>, ApiError> {
    state.engine.album(&name).await?;
    let album = state
        .engine
        .put_album(&name, &d.prompts, d.threshold)
        .await?;
    state.nudge();
    Ok(Json(album))
}

/// An album and its photos.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlbumPhotos {
    album: SmartAlbum,
    photos: Vec<Member>,
}

/// A photo in an album, with its similarity to the prompts.
#[derive(Serialize, ToSchema)]
pub(crate) struct Member {
    photo: PhotoId,
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
        .map(|(photo, score)| Member { photo, score })
        .collect();
    Ok(Json(AlbumPhotos { album, photos }))
}

/// Removes an album.
#[utoipa::path(delete, path = "/albums/{name}", tag = "albums", params(("name" = String, Path, description = "The album's name")), responses((status = 204, description = "Removed"), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such album", body = ErrorBody)))]
pub(crate) async fn delete_album(
    State(state): Shared,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.remove_album(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
