//! The pages: first-run setup, sign-in, search, a photo, tags, albums and the library. Each
//! shows what a server function returns and sends what the person typed back to one; none holds
//! logic of its own. This module holds what several pages share.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

mod account;
mod albums;
mod library;
mod photo;
mod search;
mod tags;
mod vary;

use leptos::form::ActionForm;
use leptos::prelude::*;

pub(crate) use account::{Login, Setup};
pub(crate) use albums::AlbumsPage;
pub(crate) use library::LibraryPage;
pub(crate) use photo::PhotoPage;
pub(crate) use search::Search;
pub(crate) use tags::TagsPage;

use crate::calls::{Hit, SignOut, StageRow, who_is_visiting};

/// What went wrong with the last submission, if anything.
#[component]
fn Failure(
    result: impl Fn() -> Option<Result<(), ServerFnError>> + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        result().and_then(Result::err).map(|e| {
            view! { <p role="alert" class="error">{e.to_string()}</p> }
        })
    }
}

/// A server function's answer: its view, or its error as an alert.
fn shown<V: IntoView + 'static>(answer: Result<V, ServerFnError>) -> AnyView {
    match answer {
        Ok(view) => view.into_any(),
        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
    }
}

/// A grid of thumbnails, each opening its photo.
#[component]
fn Grid(hits: Vec<Hit>) -> impl IntoView {
    view! {
        <ul class="grid" on:keydown=arrows>
            {hits
                .into_iter()
                .map(|hit| {
                    view! {
                        <li>
                            <a href=format!("/photos/{}", hit.photo)>
                                <img
                                    src=format!("/api/v1/photos/{}/thumbnail/256", hit.photo)
                                    alt=hit.alt
                                    loading="lazy"
                                    width="256"
                                    height="256"
                                />
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// Arrow keys move the focus between a grid's photos — left and right to the neighbour, up
/// and down by a row of the grid as laid out now — and Enter opens the focused one.
fn arrows(ev: leptos::ev::KeyboardEvent) {
    use leptos::wasm_bindgen::JsCast;
    let Some(item) = document()
        .active_element()
        .and_then(|link| link.parent_element())
    else {
        return;
    };
    let Some(items) = item.parent_element().map(|grid| grid.children()) else {
        return;
    };
    let top = |i: u32| items.item(i).map(|e| e.get_bounding_client_rect().top());
    let columns = (0..items.length())
        .take_while(|&i| top(i) == top(0))
        .count();
    let step = match ev.key().as_str() {
        "ArrowRight" => 1,
        "ArrowLeft" => -1,
        "ArrowDown" => columns as i64,
        "ArrowUp" => -(columns as i64),
        _ => return,
    };
    let Some(at) = (0..items.length()).find(|&i| items.item(i).as_ref() == Some(&item)) else {
        return;
    };
    let Some(link) = u32::try_from(i64::from(at) + step)
        .ok()
        .and_then(|to| items.item(to))
        .and_then(|li| li.first_element_child())
        .and_then(|a| a.dyn_into::<leptos::web_sys::HtmlElement>().ok())
    else {
        return;
    };
    ev.prevent_default();
    let _ = link.focus();
}

/// Follows the API's progress stream (server-sent events, each second) into `live` while the
/// page is open (the browser only).
fn follow_progress(live: RwSignal<Option<Vec<StageRow>>>) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        let Ok(source) = web_sys::EventSource::new("/api/v1/status/stream") else {
            return;
        };
        let on_progress = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if let Some(text) = event.data().as_string()
                    && let Ok(streamed) = serde_json::from_str::<crate::calls::Streamed>(&text)
                {
                    live.set(Some(streamed.rows()));
                }
            },
        );
        let _ = source
            .add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
        on_progress.forget();
        let source = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || source.close());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
}

/// The navigation of signed-in pages.
#[component]
fn Nav() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <nav>
            <a href="/">"Search"</a>
            <a href="/tags">"Tags"</a>
            <a href="/albums">"Albums"</a>
            <a href="/library">"Library"</a>
            <ActionForm action=sign_out>
                <button type="submit" class="link">"Sign out"</button>
            </ActionForm>
        </nav>
    }
}

/// A page for signed-in people: the navigation and its content, and above them, for anyone
/// else, where to go first (the content's own calls answer "sign in first" meanwhile). The
/// content is not nested in a suspense of its own, so it hydrates as it was rendered.
#[component]
fn SignedIn(children: Children) -> impl IntoView {
    let visitor = Resource::new(|| (), |()| who_is_visiting());
    view! {
        <Suspense fallback=|| ()>
            {move || {
                visitor.get().map(|v| match v {
                    Ok(v) if v.name.is_some() => ().into_any(),
                    Ok(v) if !v.set_up => {
                        view! {
                            <p class="first">"Shoebox has no admin yet: " <a href="/setup">"set it up"</a> "."</p>
                        }
                            .into_any()
                    }
                    Ok(_) => {
                        view! { <p class="first"><a href="/login">"Sign in"</a> " to see your photos."</p> }
                            .into_any()
                    }
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                })
            }}
        </Suspense>
        <Nav/>
        {children()}
    }
}
