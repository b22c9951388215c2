//! The search page: one box, filters and order, a search by a photo of one's own, and one
//! question over the photos shown.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::prelude::*;

use super::{Grid, SignedIn, shown};
use crate::calls::{Hit, Hits, Narrowing, ask_over, search};

/// Searches by `file` (the browser only) into `found`.
fn look_like(file: Option<leptos::web_sys::File>, found: RwSignal<Option<Result<Hits, String>>>) {
    #[cfg(feature = "hydrate")]
    if let Some(file) = file {
        leptos::task::spawn_local(async move {
            found.set(Some(crate::calls::similar_to_file(file).await));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (file, found);
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
    Effect::new(move |_| {
        if let Some(Ok(page)) = more.value().get() {
            later.update(|hits| hits.extend(page.hits));
        }
    });
    // A search by a photo the person chose or dropped, shown instead of the text search's.
    let by_photo = RwSignal::new(None::<Result<Hits, String>>);
    // One question over the photos of the first page.
    let (asked, set_asked) = signal(String::new());
    let over = Action::new(move |question: &String| {
        let photos: Vec<i64> = first
            .get_untracked()
            .and_then(Result::ok)
            .map(|page| page.hits.iter().map(|h| h.photo).collect())
            .unwrap_or_default();
        ask_over(photos, question.clone())
    });
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
            over.dispatch(asked.get_untracked());
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
            over.value()
                .get()
                .map(|answers| {
                    shown(
                        answers.map(|a| {
                            view! {
                                <section class="answers">
                                    <p class="summary">{a.summary}</p>
                                    <ul>
                                        {a
                                            .answers
                                            .into_iter()
                                            .map(|(photo, answer)| {
                                                let text = answer.unwrap_or_else(|why| format!("({why})"));
                                                view! {
                                                    <li>
                                                        <a href=format!("/photos/{photo}")>{format!("photo {photo}")}</a>
                                                        <span>{format!(": {text}")}</span>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                </section>
                            }
                        }),
                    )
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
                                    <Grid hits=page.hits/>
                                    <Grid hits=later.get()/>
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
