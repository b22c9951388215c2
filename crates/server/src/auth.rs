//! Sign-in: argon2id password hashes, random session tokens (kept in the store only as their
//! SHA-256), the session cookie, and the [`Caller`] extractor that every protected route takes —
//! which also demands the session's anti-forgery token on unsafe methods.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use sha2::{Digest, Sha256};
use shoebox_core::{MetadataStore, Role, User};

use crate::error::internal;
use crate::{ApiError, AppState};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "shoebox_session";
/// The header unsafe requests repeat the session's anti-forgery token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// An argon2id hash of `password` (PHC string, random salt).
pub(crate) fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| internal(&e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| internal(&e))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| internal(&e))
}

/// Whether `password` matches the stored `hash`.
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A new random token: 32 bytes, hex.
pub(crate) fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| internal(&e))?;
    Ok(shoebox_core::hex(&bytes))
}

/// What the store keeps of a token.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The session token a request's cookies carry.
fn session_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

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
        let store = state.engine.store();
        if let Some(token) = bearer(parts) {
            let user = store
                .api_token_user(token_hash(token))
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            return Ok(Self {
                user,
                session: None,
            });
        }
        let token = session_token(parts).ok_or_else(ApiError::unauthenticated)?;
        let hash = token_hash(token);
        let session = store
            .session(hash)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_hash_only() -> Result<(), ApiError> {
        let hash = hash_password("correct horse battery")?;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_ne!(hash, hash_password("correct horse battery")?, "salted");
        Ok(())
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() -> Result<(), ApiError> {
        let (a, b) = (new_token()?, new_token()?);
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), token_hash(&b));
        Ok(())
    }
}
