//! The app: the page shell the server renders, and the routes.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::prelude::*;
use leptos_meta::{Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::pages::{AlbumsPage, LibraryPage, Login, PhotoPage, Search, Setup, TagsPage};

/// The whole page the server sends: head (with the hydration scripts) and the app.
#[cfg(feature = "ssr")]
pub(crate) fn shell(options: LeptosOptions) -> impl IntoView {
    crate::serve::share_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="data:,"/>
                <link rel="stylesheet" href="/pkg/shoebox.css"/>
                <HydrationScripts options/>
                <leptos_meta::MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The routes. Pages are rendered whole before they are sent (`SsrMode::Async`): they are
/// small, and streamed nested suspense let hydration race the streamed chunks.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Shoebox"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p>"Nothing here."</p> }>
                    <Route path=path!("/") view=Search ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=Login ssr=SsrMode::Async/>
                    <Route path=path!("/setup") view=Setup ssr=SsrMode::Async/>
                    <Route path=path!("/photos/:id") view=PhotoPage ssr=SsrMode::Async/>
                    <Route path=path!("/tags") view=TagsPage ssr=SsrMode::Async/>
                    <Route path=path!("/albums") view=AlbumsPage ssr=SsrMode::Async/>
                    <Route path=path!("/library") view=LibraryPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
