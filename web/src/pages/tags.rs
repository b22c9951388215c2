//! Every tag with its count, each a link to its photos.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::prelude::*;

use super::{SignedIn, shown};
use crate::calls::tags;

/// `text` for a URL's query string: letters, digits and `-_.~` as they are, the rest
/// percent-encoded.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every tag with its number of photos.
#[component]
pub(crate) fn TagsPage() -> impl IntoView {
    view! {
        <SignedIn>
            <TagList/>
        </SignedIn>
    }
}

#[component]
fn TagList() -> impl IntoView {
    let all = Resource::new(|| (), |()| tags());
    view! {
        <h1>"Tags"</h1>
        <Suspense fallback=|| ()>
            {move || {
                all.get()
                    .map(|t| {
                        shown(t.map(|t| {
                            view! {
                                <ul class="tag-list">
                                    {t
                                        .into_iter()
                                        .map(|(tag, n)| {
                                            let href = format!("/?tags={}", query_value(&tag));
                                            view! {
                                                <li>
                                                    <a class="tag" href=href>{tag}</a>
                                                    <span>{n}</span>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                        }))
                    })
            }}
        </Suspense>
    }
}
