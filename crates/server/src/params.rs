//! What request paths carry, checked before anything is looked up: ids, never paths. (A
//! search's page and filters are the engine's `SearchForm`.)

use std::sync::Arc;

use axum::extract::State;
use shoebox_core::PhotoId;

use crate::{ApiError, AppState};

/// The handlers' shared state.
pub(crate) type Shared = State<Arc<AppState>>;

/// A positive number from the path naming a `what`: never a path.
pub(crate) fn number(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("{raw:?} is not a {what} id")))
}

/// A photo id from the path.
pub(crate) fn photo_id(raw: &str) -> Result<PhotoId, ApiError> {
    number(raw, "photo").map(PhotoId)
}
