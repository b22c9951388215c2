//! Shoebox's web UI: a leptos app rendered on the server (`ssr`) and hydrated in the browser
//! (`hydrate`, built for wasm32 by `build.rs` and embedded in the server build). Pages are
//! components that show what server functions return; the server functions call the engine.
//! Sign-in and setup go through the HTTP API, which owns sessions.

mod app;
mod calls;
mod pages;
#[cfg(feature = "ssr")]
mod serve;

pub use app::App;
#[cfg(feature = "ssr")]
pub use serve::{WebContext, router};

/// The browser's entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Says the page listens now (what a person types before this is not seen; the end-to-end
    // test waits for it).
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
