//! The router: every route under `/api/v1` (from the handlers' annotations, so the OpenAPI
//! document always matches), the health checks and `/metrics`, and the layers around them —
//! metrics and timeout per matched route, the body limit, the security headers.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json, Router, middleware};
use shoebox_core::MetadataStore;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::headers::security_headers;
use crate::{ApiError, AppState, account, albums, ask, library, original, photos, search, vary};

/// Request bodies are small JSON documents (uploads have their own limit).
const MAX_BODY: usize = 64 * 1024;

/// The API's description, completed from the routes' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shoebox",
        description = "Semantic search for the photos on your own server. Sign in with POST /login (a session cookie; repeat the returned csrf token in x-csrf-token on unsafe requests) or send an API token as `Authorization: Bearer TOKEN`."
    ),
    components(schemas(ErrorBody, ask::AnswerEvent, shoebox_engine::AnswerSummary, library::ProgressEvent)),
    modifiers(&SignIn),
    security(("token" = []), ("session" = []))
)]
struct ApiDoc;

/// The two ways to sign requests: an API token, or the session cookie.
struct SignIn;

impl Modify for SignIn {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                shoebox_engine::SESSION_COOKIE,
            ))),
        );
    }
}

pub(crate) fn routes(state: Arc<AppState>) -> Router {
    use account::*;
    use albums::*;
    use ask::*;
    use library::*;
    use original::*;
    use photos::*;
    use search::*;
    use vary::*;
    let api = OpenApiRouter::<Arc<AppState>>::new()
        .routes(routes!(setup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(users, create_user))
        .routes(routes!(end_user_sessions))
        .routes(routes!(sessions))
        .routes(routes!(end_session))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(delete_token))
        .routes(routes!(roots))
        .routes(routes!(models))
        .routes(routes!(search))
        .routes(routes!(photo))
        .routes(routes!(thumbnail))
        .routes(routes!(original))
        .routes(routes!(similar))
        .routes(routes!(status))
        .routes(routes!(retry_jobs))
        .routes(routes!(progress_stream))
        .routes(routes!(tags))
        .routes(routes!(photo_tags))
        .routes(routes!(classify))
        .routes(routes!(ask))
        .routes(routes!(ask_over))
        .routes(
            routes!(similar_to_upload).map(|route| route.layer(DefaultBodyLimit::max(MAX_UPLOAD))),
        )
        .routes(routes!(add_tag, remove_tag))
        .routes(routes!(albums, create_album))
        .routes(routes!(album, update_album, delete_album))
        .routes(routes!(vary))
        .routes(routes!(variations))
        .routes(routes!(vary_status, cancel_vary))
        .routes(routes!(vary_stream));
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

/// Ready when the database answers and the live library is not waiting out a fault; else 503
/// with what is wrong and since when (Unix seconds).
async fn ready(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    if let Some(degraded) = state.engine.degraded() {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "degraded",
            format!("{} (since {})", degraded.reason, degraded.since),
        ));
    }
    state.engine.store().user_count().await?;
    Ok("ready")
}
