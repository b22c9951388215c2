//! [`ApiError`]: an error as a client sees it — a status, a stable code and a message safe to
//! show; what went wrong inside is logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// The status sent.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What the client is sent.
    pub(crate) fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
            },
        }
    }
}

/// The body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, utoipa::ToSchema)]
struct ErrorDetail {
    /// Stable, for programs: `unauthenticated`, `csrf`, `forbidden`, `bad_request`,
    /// `not_found`, `conflict`, `throttled`, `search_unavailable`, `unavailable`, `timeout`,
    /// `internal`, …
    code: String,
    /// For people.
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<shoebox_engine::Error> for ApiError {
    fn from(e: shoebox_engine::Error) -> Self {
        match e {
            shoebox_engine::Error::Library(shoebox_core::Error::NotFound { what }) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such {what}"),
            ),
            shoebox_engine::Error::Library(shoebox_core::Error::Invalid(why)) => {
                Self::bad_request(why)
            }
            shoebox_engine::Error::Library(shoebox_core::Error::Conflict(why)) => {
                Self::new(StatusCode::CONFLICT, "conflict", why)
            }
            shoebox_engine::Error::Library(shoebox_core::Error::Unavailable { .. }) => {
                tracing::warn!("request refused for now: {e}");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the library's database is busy (another program holds it); try again shortly",
                )
            }
            shoebox_engine::Error::BadCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "bad_credentials", e.to_string())
            }
            shoebox_engine::Error::Throttled => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "throttled", e.to_string())
            }
            shoebox_engine::Error::QueueFull { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "busy", e.to_string())
            }
            shoebox_engine::Error::Model(shoebox_engine::ModelError::Variation(why)) => {
                Self::bad_request(why)
            }
            other => internal(&other),
        }
    }
}

impl From<shoebox_core::Error> for ApiError {
    fn from(e: shoebox_core::Error) -> Self {
        shoebox_engine::Error::Library(e).into()
    }
}

/// A failure the client cannot fix: logged in full, answered in general.
pub(crate) fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!("request failed: {e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "something went wrong on the server; the log has the details",
    )
}
