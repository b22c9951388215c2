//! Accounts: first-run setup, signing in and out, users (admins add them and can sign them out
//! everywhere), the caller's sessions and API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shoebox_core::{ApiToken, MetadataStore, Role, SessionInfo, User, hex, unhex32};
use shoebox_engine::{NewSession, session_cookie};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::{Admin, Caller};
use crate::error::{ErrorBody, internal};
use crate::extract::JsonBody;
use crate::params::{Shared, number};

/// A name and a password.
#[derive(Deserialize, ToSchema)]
pub(crate) struct Credentials {
    name: String,
    password: String,
}

/// First run: creates the admin, once.
#[utoipa::path(post, path = "/setup", tag = "auth", request_body = Credentials, responses((status = 201, description = "The admin, created", body = User), (status = 400, description = "Bad input", body = ErrorBody), (status = 409, description = "Set up already", body = ErrorBody)))]
pub(crate) async fn setup(
    State(state): Shared,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    match state.engine.set_up(&c.name, &c.password).await? {
        Some(user) => Ok((StatusCode::CREATED, Json(user))),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_set_up",
            "Shoebox has its admin already: sign in",
        )),
    }
}

/// Signed in.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignedIn {
    user: User,
    /// Repeat in the `x-csrf-token` header of every unsafe request.
    csrf: String,
}

/// Signs in: a session cookie (HttpOnly, SameSite=Strict; Secure behind TLS) and the session's
/// anti-forgery token.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = Credentials, responses((status = 200, description = "Signed in: a session cookie, and the CSRF token unsafe requests repeat", body = SignedIn), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Wrong name or password", body = ErrorBody), (status = 429, description = "Throttled", body = ErrorBody)))]
pub(crate) async fn login(
    State(state): Shared,
    headers: HeaderMap,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let NewSession { user, token, csrf } = state.engine.sign_in(&c.name, &c.password).await?;
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let cookie = session_cookie(&token, secure);
    let mut response = Json(SignedIn { user, csrf }).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| internal(&e))?,
    );
    Ok(response)
}

/// Ends the session.
#[utoipa::path(post, path = "/logout", tag = "auth", responses((status = 204, description = "Signed out"), (status = 400, description = "An API token is not a session", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody)))]
pub(crate) async fn logout(State(state): Shared, caller: Caller) -> Result<Response, ApiError> {
    let session = caller
        .session
        .ok_or_else(|| ApiError::bad_request("an API token is not a session: revoke it instead"))?;
    state.engine.sign_out(session).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session_cookie("", false)).map_err(|e| internal(&e))?,
    );
    Ok(response)
}

/// The signed-in user.
#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, description = "The signed-in user", body = User), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn me(caller: Caller) -> Json<User> {
    Json(caller.user)
}

/// A user to add.
#[derive(Deserialize, ToSchema)]
pub(crate) struct NewUser {
    #[serde(flatten)]
    credentials: Credentials,
    role: Role,
}

/// Every user (admins only).
#[utoipa::path(get, path = "/users", tag = "auth", responses((status = 200, description = "The users", body = Vec<User>), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn users(
    State(state): Shared,
    _admin: Admin,
) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(state.engine.store().users().await?))
}

/// An admin adds a user.
#[utoipa::path(post, path = "/users", tag = "auth", request_body = NewUser, responses((status = 201, description = "The user", body = User), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not an admin, or no CSRF token", body = ErrorBody), (status = 409, description = "Name taken", body = ErrorBody)))]
pub(crate) async fn create_user(
    State(state): Shared,
    _admin: Admin,
    JsonBody(new): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let c = &new.credentials;
    let user = state
        .engine
        .add_user(&c.name, &c.password, new.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// How many sessions ended.
#[derive(Serialize, ToSchema)]
pub(crate) struct Ended {
    sessions: u64,
}

/// An admin signs a user out everywhere (a lost phone, a leaked cookie).
#[utoipa::path(delete, path = "/users/{id}/sessions", tag = "auth", params(("id" = i64, Path, description = "The user's id", minimum = 1)), responses((status = 200, description = "Their sessions ended", body = Ended), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not an admin, or no CSRF token", body = ErrorBody)))]
pub(crate) async fn end_user_sessions(
    State(state): Shared,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Ended>, ApiError> {
    let user = number(&id, "user")?;
    let sessions = state.engine.store().delete_user_sessions(user).await?;
    Ok(Json(Ended { sessions }))
}

/// A session of the caller's.
#[derive(Serialize, ToSchema)]
pub(crate) struct MySession {
    #[serde(flatten)]
    session: SessionInfo,
    /// The session this request came with.
    current: bool,
}

/// The caller's live sessions, newest first.
#[utoipa::path(get, path = "/sessions", tag = "auth", responses((status = 200, description = "The caller's sessions", body = Vec<MySession>), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn sessions(
    State(state): Shared,
    caller: Caller,
) -> Result<Json<Vec<MySession>>, ApiError> {
    let current = caller.session.map(|hash| hex(&hash));
    let list = state.engine.store().sessions(caller.user.id).await?;
    Ok(Json(
        list.into_iter()
            .map(|session| MySession {
                current: current.as_ref() == Some(&session.id),
                session,
            })
            .collect(),
    ))
}

/// Ends one of the caller's sessions (another browser; this one signs out with `/logout`).
#[utoipa::path(delete, path = "/sessions/{id}", tag = "auth", params(("id" = String, Path, description = "The session's id, as listed")), responses((status = 204, description = "Ended"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such session of the caller's", body = ErrorBody)))]
pub(crate) async fn end_session(
    State(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let hash =
        unhex32(&id).ok_or_else(|| ApiError::bad_request(format!("{id:?} is not a session id")))?;
    if state
        .engine
        .store()
        .delete_user_session(caller.user.id, hash)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("session"))
    }
}

/// An API token to make.
#[derive(Deserialize, ToSchema)]
pub(crate) struct NewToken {
    name: String,
}

/// A new API token.
#[derive(Serialize, ToSchema)]
pub(crate) struct MadeToken {
    #[serde(flatten)]
    token: ApiToken,
    /// Send as `Authorization: Bearer SECRET`; shown this once.
    secret: String,
}

/// Makes an API token for the caller.
#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = NewToken, responses((status = 201, description = "The token; its secret is shown this once", body = MadeToken), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody)))]
pub(crate) async fn create_token(
    State(state): Shared,
    caller: Caller,
    JsonBody(new): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<MadeToken>), ApiError> {
    let (token, secret) = state
        .engine
        .new_api_token(caller.user.id, &new.name)
        .await?;
    Ok((StatusCode::CREATED, Json(MadeToken { token, secret })))
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/tokens", tag = "auth", responses((status = 200, description = "The caller's API tokens", body = Vec<ApiToken>), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn list_tokens(
    State(state): Shared,
    caller: Caller,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.engine.store().api_tokens(caller.user.id).await?))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", params(("id" = i64, Path, description = "The token's id", minimum = 1)), responses((status = 204, description = "Revoked"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such token", body = ErrorBody)))]
pub(crate) async fn delete_token(
    State(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = number(&id, "token")?;
    if state
        .engine
        .store()
        .delete_api_token(caller.user.id, id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token"))
    }
}
