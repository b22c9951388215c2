//! The server side: the pages and server functions as an axum router over the engine, and the
//! client bundle (compiled by `build.rs`) at `/pkg`.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use shoebox_engine::{Engine, ImageToText, LiveSearch};

use crate::App;
use crate::app::shell;

/// What server functions reach: the library and its live searches.
#[derive(Clone)]
pub struct WebContext {
    /// The library.
    pub engine: Arc<Engine>,
    /// Live searches; `None` without a CLIP model.
    pub live: Option<Arc<LiveSearch>>,
    /// The question-answering model; `None` when none is installed.
    pub answerer: Option<Arc<ImageToText>>,
}

/// A file of the client bundle (built for wasm32 by `build.rs`), plain and gzipped.
struct Asset {
    mime: &'static str,
    plain: &'static [u8],
    gzip: Option<&'static [u8]>,
}

const SCRIPT: Asset = Asset {
    mime: "text/javascript",
    plain: include_bytes!(concat!(env!("OUT_DIR"), "/pkg/web.js")),
    gzip: Some(include_bytes!(concat!(env!("OUT_DIR"), "/pkg/web.js.gz"))),
};
const WASM: Asset = Asset {
    mime: "application/wasm",
    plain: include_bytes!(concat!(env!("OUT_DIR"), "/pkg/web_bg.wasm")),
    gzip: Some(include_bytes!(concat!(
        env!("OUT_DIR"),
        "/pkg/web_bg.wasm.gz"
    ))),
};
const STYLE: Asset = Asset {
    mime: "text/css",
    plain: include_bytes!("../style.css"),
    gzip: None,
};

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
        .route(
            "/pkg/web.js",
            get(|headers: HeaderMap| serve_asset(&SCRIPT, headers)),
        )
        .route(
            "/pkg/web_bg.wasm",
            get(|headers: HeaderMap| serve_asset(&WASM, headers)),
        )
        .route(
            "/pkg/shoebox.css",
            get(|headers: HeaderMap| serve_asset(&STYLE, headers)),
        )
        .layer(middleware::from_fn(security_headers))
        .with_state(options)
}

/// Everything from this origin; never framed. A page's response narrows scripts to its nonce.
const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                   base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Where a page's render leaves the nonce leptos gave its inline scripts, for the response's
/// policy (the render runs inside the request, the headers are written after it).
#[derive(Clone, Default)]
struct NonceSlot(Arc<std::sync::Mutex<Option<String>>>);

/// Called while a page renders: hands the page's nonce to [`security_headers`].
pub(crate) fn share_nonce() {
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    if let Some(slot) = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<NonceSlot>().cloned())
    {
        *slot
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(nonce.to_string());
    }
}

async fn security_headers(mut request: Request, next: Next) -> Response {
    let slot = NonceSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let nonce = slot
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    // Pages: scripts from this origin and the inline ones leptos wrote with this response's
    // nonce (the hydration loader, the resources' data); the wasm module may be compiled.
    let policy = match nonce {
        Some(nonce) => HeaderValue::from_str(&format!(
            "{CSP}; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(CSP)),
        None => HeaderValue::from_static(CSP),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
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

/// The bundle's ETag, from `build.rs` (the stylesheet is versioned with it).
const ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/pkg/etag"));

/// The asset, gzipped when the browser accepts it; revalidated on each load (`no-cache` with
/// an ETag: 304 until a new build), so a new build is picked up at once.
async fn serve_asset(asset: &'static Asset, headers: HeaderMap) -> Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == ETAG.as_bytes())
    {
        let mut response = axum::http::StatusCode::NOT_MODIFIED.into_response();
        response
            .headers_mut()
            .insert(header::ETAG, HeaderValue::from_static(ETAG));
        return response;
    }
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = match asset.gzip.filter(|_| gzip_ok) {
        Some(packed) => {
            let mut response = packed.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        }
        None => asset.plain.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::ETAG, HeaderValue::from_static(ETAG));
    response
}
