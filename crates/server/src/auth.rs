//! Who is calling: the session cookie or an `Authorization: Bearer` API token, resolved by the
//! engine's accounts, in the [`Caller`] extractor every protected route takes — which also
//! demands the session's anti-forgery token on unsafe methods — and [`Admin`].

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use shoebox_core::{Role, User};
use shoebox_engine::{session_token, token_hash};

use crate::{ApiError, AppState};

/// The header unsafe requests repeat the session's anti-forgery token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in user making the request: by session cookie (then unsafe methods must
/// repeat the session's anti-forgery token) or by API token (`Authorization: Bearer`, which
/// browsers never send on their own).
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) user: User,
    /// The session's token hash; `None` for an API token.
    pub(crate) session: Option<[u8; 32]>,
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(parts) {
            let user = state
                .engine
                .token_user(token)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            return Ok(Self {
                user,
                session: None,
            });
        }
        let cookies = parts.headers.get_all(header::COOKIE).iter();
        let token = session_token(cookies.filter_map(|v| v.to_str().ok()))
            .ok_or_else(ApiError::unauthenticated)?;
        let hash = token_hash(token);
        let session = state
            .engine
            .session(token)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(session.csrf.as_str()) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    format!("this request must carry the session's {CSRF_HEADER} header"),
                ));
            }
        }
        Ok(Self {
            user: session.user,
            session: Some(hash),
        })
    }
}

/// Proof that the caller is an admin.
#[derive(Debug)]
pub(crate) struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.user.role != Role::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only an admin may do this",
            ));
        }
        Ok(Self)
    }
}

/// The API token of an `Authorization: Bearer` header.
fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}
