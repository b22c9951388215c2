//! The server side: the pages and server functions as an axum router over the engine, and the
//! client bundle (compiled by `build.rs`) at `/pkg`.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use shoebox_engine::{Engine, LiveSearch};

use crate::App;
use crate::app::shell;

/// What server functions reach: the library and its live searches.
#[derive(Clone)]
pub struct WebContext {
    /// The library.
    pub engine: Arc<Engine>,
    /// Live searches; `None` without a CLIP model.
    pub live: Option<Arc<LiveSearch>>,
}

/// The client bundle, built for wasm32 by `build.rs`.
const SCRIPT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pkg/web.js"));
const WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pkg/web_bg.wasm"));
/// The stylesheet.
const STYLE: &[u8] = include_bytes!("../style.css");

/// The pages, the server functions and the bundle, for `context`.
pub fn router(context: WebContext) -> Router {
    let options = LeptosOptions::builder()
        .output_name("web")
        .site_pkg_dir("pkg")
        .build();
    let routes = generate_route_list(App);
    Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(context.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .route("/pkg/web.js", get(|| asset("text/javascript", SCRIPT)))
        .route("/pkg/web_bg.wasm", get(|| asset("application/wasm", WASM)))
        .route("/pkg/shoebox.css", get(|| asset("text/css", STYLE)))
        .layer(middleware::from_fn(security_headers))
        .with_state(options)
}

/// Scripts from this origin and the hydration loader leptos inlines; the wasm module may be
/// compiled; never framed.
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
                   style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
                   base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn asset(mime: &'static str, bytes: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        bytes,
    )
}
