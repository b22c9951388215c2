//! The search page: one box, filters and order, a search by a photo of one's own, and one
//! question over the photos shown.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::prelude::*;

use super::{Grid, SignedIn, shown};
use crate::calls::{Hit, Hits, Narrowing, search};

/// Searches by `file` (the browser only) into `found`.
fn look_like(file: Option<leptos::web_sys::File>, found: RwSignal<Option<Result<Hits, String>>>) {
    #[cfg(feature = "hydrate")]
    if let Some(file) = file {
        leptos::task::spawn_local(async move {
            found.set(Some(crate::calls::api::similar_to_file(file).await));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (file, found);
}

/// Asks `question` of `photos` (the browser only): each photo's answer into `answers` as it
/// streams in, then the summary (or why there is none) into `summary`.
fn ask_over(
    photos: Vec<i64>,
    question: String,
    answers: RwSignal<Vec<(i64, String)>>,
    summary: RwSignal<Option<String>>,
) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        answers.set(Vec::new());
        summary.set(Some("Asking…".to_owned()));
        let done = crate::calls::api::ask_over(&photos, &question, |a| {
            let text = a
                .answer
                .unwrap_or_else(|| format!("({})", a.error.unwrap_or_default()));
            answers.update(|all| all.push((a.photo, text)));
        })
        .await;
        summary.set(Some(match done {
            Ok(s) => {
                let common = s
                    .most_common
                    .map(|(answer, n)| format!(" Most said “{answer}” ({n})."))
                    .unwrap_or_default();
                format!(
                    "{} answered, {} without an answer; {} yes, {} no.{common}",
                    s.answered, s.failed, s.yes, s.no
                )
            }
            Err(why) => why,
        }));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (photos, question, answers, summary);
}

/// Loads the next page when the "More" button comes near the bottom of the window (infinite
/// scroll; the button stays for keyboards). Listens from hydration until the page goes.
fn more_on_scroll(busy: Memo<bool>) {
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::scroll, move |_| {
            use leptos::wasm_bindgen::JsCast;
            if busy.get_untracked() {
                return;
            }
            let Some(button) = document()
                .query_selector("button.more")
                .ok()
                .flatten()
                .and_then(|b| b.dyn_into::<leptos::web_sys::HtmlElement>().ok())
            else {
                return;
            };
            let height = window()
                .inner_height()
                .ok()
                .and_then(|h| h.as_f64())
                .unwrap_or_default();
            if button.get_bounding_client_rect().top() < height * 1.5 {
                button.click();
            }
        });
        on_cleanup(move || handle.remove());
    });
}

/// One box for words and meaning, and the photos it finds.
#[component]
pub(crate) fn Search() -> impl IntoView {
    view! {
        <SignedIn>
            <SearchBox/>
        </SignedIn>
    }
}

#[component]
fn SearchBox() -> impl IntoView {
    // What is typed, and the same a quarter second after the typing stops (what is searched).
    let (typed, set_typed) = signal(String::new());
    let (query, set_query) = signal(String::new());
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let type_query = move |text: String| {
        set_typed.set(text.clone());
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || set_query.set(text),
            std::time::Duration::from_millis(250),
        );
        pending.set_value(handle.ok());
    };
    // A tag's link (`/?tags=…`) opens the search narrowed to it.
    let tags = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("tags")
        .unwrap_or_default();
    let narrowing = RwSignal::new(Narrowing {
        tags: tags.clone(),
        ..Narrowing::default()
    });
    // Later pages, appended as "More" asks for them (reset by a new search). Only the
    // resource is read under the page's transition: reading it elsewhere would suspend the page.
    let later = RwSignal::new(Vec::<Hit>::new());
    let more = Action::new(move |cursor: &String| {
        let (query, narrowing, cursor) = (
            query.get_untracked(),
            narrowing.get_untracked(),
            cursor.clone(),
        );
        async move { search(query, narrowing, Some(cursor)).await }
    });
    let first = Resource::new(
        move || (query.get(), narrowing.get()),
        move |(query, narrowing)| {
            later.set(Vec::new());
            more.value().set(None);
            search(query, narrowing, None)
        },
    );
    more_on_scroll(more.pending());
    Effect::new(move |_| {
        if let Some(Ok(page)) = more.value().get() {
            later.update(|hits| hits.extend(page.hits));
        }
    });
    // A search by a photo the person chose or dropped, shown instead of the text search's.
    let by_photo = RwSignal::new(None::<Result<Hits, String>>);
    // One question over the photos shown, answered photo by photo.
    let (asked, set_asked) = signal(String::new());
    let answers = RwSignal::new(Vec::<(i64, String)>::new());
    let summary = RwSignal::new(None::<String>);
    let ask = move || {
        let photos: Vec<i64> = first
            .get_untracked()
            .and_then(Result::ok)
            .map(|page| page.hits)
            .unwrap_or_default()
            .iter()
            .chain(later.get_untracked().iter())
            .map(|h| h.photo)
            .collect();
        ask_over(photos, asked.get_untracked(), answers, summary);
    };
    // A filter field's change, written into the narrowing (which searches again).
    let field = move |set: fn(&mut Narrowing, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            narrowing.update(|n| set(n, value));
        }
    };
    view! {
        <h1>"Shoebox"</h1>
        <input
            type="search"
            aria-label="Search photos"
            placeholder="beach -people, a red bicycle…"
            prop:value=typed
            on:input=move |ev| type_query(event_target_value(&ev))
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    type_query(String::new());
                }
            }
        />
        <div
            class="by-photo"
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                let file = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0));
                look_like(file, by_photo);
            }
        >
            <label>
                "Or find photos like one of yours (choose or drop it here) "
                <input
                    type="file"
                    name="photo"
                    accept="image/*"
                    on:change=move |ev| {
                        use leptos::wasm_bindgen::JsCast;
                        let file = ev
                            .target()
                            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
                            .and_then(|input| input.files())
                            .and_then(|files| files.get(0));
                        look_like(file, by_photo);
                    }
                />
            </label>
        </div>
        {move || {
            by_photo
                .get()
                .map(|found| {
                    view! {
                        <section class="look-alikes">
                            <p class="count">
                                {match &found {
                                    Ok(hits) => format!("{} photos look like yours", hits.total),
                                    Err(why) => why.clone(),
                                }}
                            </p>
                            <button on:click=move |_| by_photo.set(None)>"Back to the search"</button>
                            {found.ok().map(|hits| view! { <Grid hits=hits.hits/> })}
                        </section>
                    }
                })
        }}
        <details class="filters">
            <summary>"Filters and order"</summary>
            <label>"From " <input type="date" name="since" on:change=field(|n, v| n.since = v)/></label>
            <label>"To " <input type="date" name="until" on:change=field(|n, v| n.until = v)/></label>
            <label>"Camera " <input name="camera" on:change=field(|n, v| n.camera = v)/></label>
            <label>"Tags " <input name="tags" placeholder="beach, family" value=tags on:change=field(|n, v| n.tags = v)/></label>
            <label>
                "Order "
                <select name="sort" on:change=field(|n, v| n.by_date = v == "date")>
                    <option value="relevance">"Best match"</option>
                    <option value="date">"Newest first"</option>
                </select>
            </label>
        </details>
        <form class="ask-over" on:submit=move |ev| {
            ev.prevent_default();
            ask();
        }>
            <label>
                "Ask about these photos "
                <input
                    name="question-over"
                    placeholder="is it outdoors?"
                    prop:value=asked
                    on:input=move |ev| set_asked.set(event_target_value(&ev))
                />
            </label>
            <button type="submit">"Ask"</button>
        </form>
        {move || {
            summary
                .get()
                .map(|summary| {
                    view! {
                        <section class="answers" aria-live="polite">
                            <ul>
                                {move || {
                                    answers
                                        .get()
                                        .into_iter()
                                        .map(|(photo, text)| {
                                            view! {
                                                <li>
                                                    <a href=format!("/photos/{photo}")>{format!("photo {photo}")}</a>
                                                    <span>{format!(": {text}")}</span>
                                                </li>
                                            }
                                        })
                                        .collect_view()
                                }}
                            </ul>
                            <p class="summary">{summary}</p>
                        </section>
                    }
                })
        }}
        <Transition fallback=|| ()>
            {move || {
                if by_photo.with(Option::is_some) {
                    return None;
                }
                first
                    .get()
                    .map(|page| {
                        shown(
                            page.map(|page| {
                                if page.hits.is_empty() {
                                    return view! { <p class="count">"No photos match."</p> }.into_any();
                                }
                                view! {
                                    <p class="count">{format!("{} photos", page.total)}</p>
                                    {
                                        let first = page.hits.clone();
                                        move || {
                                            let mut all = first.clone();
                                            all.extend(later.get());
                                            view! { <Grid hits=all/> }
                                        }
                                    }
                                    {move || {
                                        let next = match more.value().get() {
                                            Some(Ok(later_page)) => later_page.next,
                                            _ => page.next.clone(),
                                        };
                                        next.map(|cursor| {
                                                view! {
                                                    <button class="more" on:click=move |_| {
                                                        more.dispatch(cursor.clone());
                                                    }>"More"</button>
                                                }
                                            })
                                    }}
                                }
                                    .into_any()
                            }),
                        )
                    })
            }}
        </Transition>
    }
}
