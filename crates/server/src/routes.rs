//! The routes: health checks, first-run setup and sign-in, and the library under `/api/v1`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde::{Deserialize, Serialize};
use shoebox_core::{ApiToken, MetadataStore, PhotoId, Role, User};
use shoebox_engine::{Progress, SearchPage, SearchRequest, SortOrder, thumbnail_path};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};

use crate::auth::{
    Admin, Caller, SESSION_COOKIE, hash_password, new_token, token_hash, verify_password,
};
use crate::error::{ErrorBody, internal};
use crate::extract::{JsonBody, Params};
use crate::headers::security_headers;
use crate::{ApiError, AppState};

/// Request bodies are small JSON documents.
const MAX_BODY: usize = 64 * 1024;
/// How long a session lasts.
const SESSION_DAYS: i64 = 30;
/// Longest login name, in bytes.
const MAX_NAME: usize = 64;
/// Password length limits, in bytes (argon2 hashes any length; this bounds the work).
const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 10..=1024;
/// Most hits per page.
const MAX_LIMIT: usize = 200;

type Shared = State<Arc<AppState>>;

/// A body documented loosely (the engine's and core's types carry no schema yet).
type Any = serde_json::Value;

/// The API's description, completed from the routes' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shoebox",
        description = "Semantic search for the photos on your own server. Sign in with POST /login (a session cookie; repeat the returned csrf token in x-csrf-token on unsafe requests) or send an API token as `Authorization: Bearer TOKEN`."
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

pub(crate) fn routes(state: Arc<AppState>) -> Router {
    use crate::library::{
        __path_add_tag, __path_album, __path_albums, __path_classify, __path_delete_album,
        __path_photo_tags, __path_progress_stream, __path_put_album, __path_remove_tag,
        __path_similar, __path_tags, add_tag, album, albums, classify, delete_album, photo_tags,
        progress_stream, put_album, remove_tag, similar, tags,
    };
    use crate::library::{
        __path_ask, __path_similar_to_upload, MAX_UPLOAD, ask, similar_to_upload,
    };
    use crate::original::{__path_original, original};
    let api = OpenApiRouter::<Arc<AppState>>::new()
        .routes(utoipa_axum::routes!(setup))
        .routes(utoipa_axum::routes!(login))
        .routes(utoipa_axum::routes!(logout))
        .routes(utoipa_axum::routes!(me))
        .routes(utoipa_axum::routes!(create_user))
        .routes(utoipa_axum::routes!(list_tokens, create_token))
        .routes(utoipa_axum::routes!(delete_token))
        .routes(utoipa_axum::routes!(roots))
        .routes(utoipa_axum::routes!(search))
        .routes(utoipa_axum::routes!(photo))
        .routes(utoipa_axum::routes!(thumbnail))
        .routes(utoipa_axum::routes!(original))
        .routes(utoipa_axum::routes!(similar))
        .routes(utoipa_axum::routes!(status))
        .routes(utoipa_axum::routes!(progress_stream))
        .routes(utoipa_axum::routes!(tags))
        .routes(utoipa_axum::routes!(photo_tags))
        .routes(utoipa_axum::routes!(classify))
        .routes(utoipa_axum::routes!(ask))
        .routes(
            utoipa_axum::routes!(similar_to_upload)
                .map(|route| route.layer(DefaultBodyLimit::max(MAX_UPLOAD))),
        )
        .routes(utoipa_axum::routes!(add_tag, remove_tag))
        .routes(utoipa_axum::routes!(albums, put_album))
        .routes(utoipa_axum::routes!(album, delete_album));
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api)
        .split_for_parts();
    let doc = Arc::new(doc);
    router
        .route(
            "/api/v1/openapi.json",
            get(move |_: Caller| {
                let doc = Arc::clone(&doc);
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(crate::metrics::metrics))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            crate::metrics::track,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Ready when the database answers.
async fn ready(State(state): Shared) -> Result<&'static str, ApiError> {
    state.engine.store().user_count().await?;
    Ok("ready")
}

/// A name and a password.
#[derive(Deserialize, ToSchema)]
struct Credentials {
    name: String,
    password: String,
}

/// `raw` trimmed, when it is 1 to `max` bytes without control characters: names, tags,
/// labels; `what` names it in the error ("a tag").
pub(crate) fn one_line<'a>(raw: &'a str, max: usize, what: &str) -> Result<&'a str, ApiError> {
    let text = raw.trim();
    if text.is_empty() || text.len() > max || text.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{what} is 1 to {max} bytes without control characters"
        )));
    }
    Ok(text)
}

/// A new user's name (trimmed) and the hash of their password, once both are acceptable.
fn checked(c: &Credentials) -> Result<(&str, String), ApiError> {
    let name = one_line(&c.name, MAX_NAME, "a name")?;
    if !PASSWORD_BYTES.contains(&c.password.len()) {
        return Err(ApiError::bad_request(format!(
            "a password is {} to {} bytes",
            PASSWORD_BYTES.start(),
            PASSWORD_BYTES.end()
        )));
    }
    Ok((name, hash_password(&c.password)?))
}

/// First run: creates the admin, once.
#[utoipa::path(post, path = "/setup", tag = "auth", request_body = Credentials, responses((status = 201, description = "The admin, created", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 409, description = "Set up already", body = ErrorBody)))]
async fn setup(
    State(state): Shared,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let (name, hash) = checked(&c)?;
    match state.engine.store().create_first_admin(name, &hash).await? {
        Some(user) => Ok((StatusCode::CREATED, Json(user))),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_set_up",
            "Shoebox has its admin already: sign in",
        )),
    }
}

#[derive(Serialize, ToSchema)]
struct SignedIn {
    #[schema(value_type = Object)]
    user: User,
    /// Repeat in the `x-csrf-token` header of every unsafe request.
    csrf: String,
}

/// Signs in: a session cookie (HttpOnly, SameSite=Strict; Secure behind TLS) and the session's
/// anti-forgery token.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = Credentials, responses((status = 200, description = "Signed in: a session cookie, and the CSRF token unsafe requests repeat", body = SignedIn), (status = 401, description = "Wrong name or password", body = ErrorBody), (status = 429, description = "Throttled", body = ErrorBody)))]
async fn login(
    State(state): Shared,
    headers: HeaderMap,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    if !state.throttle.allows(&c.name) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "too many failed sign-ins for this name; try again in 15 minutes",
        ));
    }
    if c.password.len() > *PASSWORD_BYTES.end() {
        return Err(ApiError::bad_request("password too long"));
    }
    let found = state.engine.store().user_by_name(&c.name).await?;
    // An unknown name costs a password check too, so timing does not tell names apart.
    let verified = match &found {
        Some((_, hash)) => verify_password(&c.password, hash),
        None => {
            verify_password(&c.password, decoy_hash()?);
            false
        }
    };
    let Some((user, _)) = found.filter(|_| verified) else {
        state.throttle.failed(&c.name);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong name or password",
        ));
    };
    state.throttle.succeeded(&c.name);
    let (token, csrf) = (new_token()?, new_token()?);
    let expires = OffsetDateTime::now_utc() + time::Duration::days(SESSION_DAYS);
    state
        .engine
        .store()
        .create_session(token_hash(&token), user.id, &csrf, expires)
        .await?;
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_DAYS * 24 * 3600,
        if secure { "; Secure" } else { "" }
    );
    let mut response = Json(SignedIn { user, csrf }).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| internal(&e))?,
    );
    Ok(response)
}

/// A hash no password matches, checked for unknown names.
fn decoy_hash() -> Result<&'static str, ApiError> {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(hash) = DECOY.get() {
        return Ok(hash);
    }
    let hash = hash_password(&new_token()?)?;
    Ok(DECOY.get_or_init(|| hash))
}

/// Ends the session.
#[utoipa::path(post, path = "/logout", tag = "auth", responses((status = 204, description = "Signed out"), (status = 400, description = "An API token is not a session", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody)))]
async fn logout(State(state): Shared, caller: Caller) -> Result<Response, ApiError> {
    let session = caller
        .session
        .ok_or_else(|| ApiError::bad_request("an API token is not a session: revoke it instead"))?;
    state.engine.store().delete_session(session).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("shoebox_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, description = "The signed-in user", body = Any), (status = 401, description = "Not signed in", body = ErrorBody)))]
async fn me(caller: Caller) -> Json<User> {
    Json(caller.user)
}

/// A user to add.
#[derive(Deserialize, ToSchema)]
struct NewUser {
    #[serde(flatten)]
    credentials: Credentials,
    /// `admin` or `member`.
    #[schema(value_type = String)]
    role: Role,
}

/// An admin adds a user.
#[utoipa::path(post, path = "/users", tag = "auth", request_body = NewUser, responses((status = 201, description = "The user", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody), (status = 409, description = "Name taken", body = ErrorBody)))]
async fn create_user(
    State(state): Shared,
    _admin: Admin,
    JsonBody(new): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let (name, hash) = checked(&new.credentials)?;
    let user = state
        .engine
        .store()
        .create_user(name, &hash, new.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// An API token to make.
#[derive(Deserialize, ToSchema)]
struct NewToken {
    name: String,
}

#[derive(Serialize)]
struct MadeToken {
    #[serde(flatten)]
    token: ApiToken,
    /// Send as `Authorization: Bearer SECRET`; shown this once.
    secret: String,
}

/// Makes an API token for the caller.
#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = NewToken, responses((status = 201, description = "The token; its secret is shown this once", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody)))]
async fn create_token(
    State(state): Shared,
    caller: Caller,
    JsonBody(new): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<MadeToken>), ApiError> {
    let name = one_line(&new.name, MAX_NAME, "a token's name")?;
    let secret = new_token()?;
    let token = state
        .engine
        .store()
        .create_api_token(caller.user.id, name, token_hash(&secret))
        .await?;
    Ok((StatusCode::CREATED, Json(MadeToken { token, secret })))
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/tokens", tag = "auth", responses((status = 200, description = "The caller's API tokens", body = Any), (status = 401, description = "Not signed in", body = ErrorBody)))]
async fn list_tokens(
    State(state): Shared,
    caller: Caller,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.engine.store().api_tokens(caller.user.id).await?))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", params(("id" = String, Path, description = "The token's id")), responses((status = 204, description = "Revoked"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such token", body = ErrorBody)))]
async fn delete_token(
    State(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not a token id")))?;
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

/// The library roots (admin only: they are paths on the server).
#[utoipa::path(get, path = "/roots", tag = "library", responses((status = 200, description = "The library roots", body = Any), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody)))]
async fn roots(
    State(state): Shared,
    _admin: Admin,
) -> Result<Json<Vec<shoebox_core::Root>>, ApiError> {
    Ok(Json(state.engine.roots().await?))
}

/// A search's query string.
#[derive(Deserialize, IntoParams)]
struct SearchQuery {
    /// The query (`beach -people`, `2:dog + cat`); empty browses.
    #[serde(default)]
    q: String,
    /// Hits per page, 1 to 200 (default 50).
    limit: Option<usize>,
    /// The previous page's `next`.
    cursor: Option<String>,
    /// `relevance` (default) or `date`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    sort: SortOrder,
}

/// A search by meaning and words (the engine's query syntax).
#[utoipa::path(get, path = "/search", tag = "search", params(SearchQuery), responses((status = 200, description = "A page of hits", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 503, description = "No CLIP model", body = ErrorBody)))]
async fn search(
    State(state): Shared,
    _caller: Caller,
    Params(query): Params<SearchQuery>,
) -> Result<Json<SearchPage>, ApiError> {
    let live = state.live.as_ref().ok_or_else(search_off)?;
    let request = SearchRequest {
        query: query.q,
        limit: page_size(query.limit)?,
        cursor: query.cursor,
        sort: query.sort,
        ..SearchRequest::default()
    };
    Ok(Json(
        live.search(&state.engine.settings().search, &request)?,
    ))
}

/// The answer of search routes without a CLIP model.
pub(crate) fn search_off() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "search_unavailable",
        "search is off until a CLIP model is installed (shoebox models pull)",
    )
}

/// Hits per page: 50 unless asked, at most [`MAX_LIMIT`].
pub(crate) fn page_size(limit: Option<usize>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!("limit is 1 to {MAX_LIMIT}")));
    }
    Ok(limit)
}

/// A photo id from the path: a positive number, never a path.
pub(crate) fn photo_id(raw: &str) -> Result<PhotoId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(PhotoId)
        .ok_or_else(|| ApiError::bad_request(format!("{raw:?} is not a photo id")))
}

/// A photo's record.
#[utoipa::path(get, path = "/photos/{id}", tag = "photos", params(("id" = String, Path, description = "The photo's id")), responses((status = 200, description = "The photo's record", body = Any), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such photo", body = ErrorBody)))]
async fn photo(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<shoebox_core::Photo>, ApiError> {
    let id = photo_id(&id)?;
    state
        .engine
        .photo(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("photo"))
}

/// A photo's thumbnail of a configured size, cached by its content hash.
#[utoipa::path(get, path = "/photos/{id}/thumbnail/{size}", tag = "photos", params(("id" = String, Path, description = "The photo's id"), ("size" = String, Path, description = "A configured thumbnail size")), responses((status = 200, description = "JPEG", content_type = "image/jpeg"), (status = 304, description = "Not modified"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "No such photo or thumbnail", body = ErrorBody)))]
async fn thumbnail(
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

/// The pipeline's progress.
#[utoipa::path(get, path = "/status", tag = "library", responses((status = 200, description = "Pipeline progress", body = Any), (status = 401, description = "Not signed in", body = ErrorBody)))]
async fn status(State(state): Shared, _caller: Caller) -> Result<Json<Progress>, ApiError> {
    Ok(Json(state.engine.progress().await?))
}
