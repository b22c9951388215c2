//! The pages: first-run setup, sign-in, search, a photo, tags, albums and the library. Each shows what a server function returns
//! and sends what the person typed back to one; none holds logic of its own.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::calls::{
    AddTag, Ask, CreateAlbum, Hit, Hits, Narrowing, RemoveTag, SetUp, SignIn, SignOut, StageRow,
    albums, ask_over, library, photo, search, similar, tags, who_is_visiting,
};

/// First run: the admin's name and password.
#[component]
pub(crate) fn Setup() -> impl IntoView {
    let set_up = ServerAction::<SetUp>::new();
    view! {
        <h1>"Welcome to Shoebox"</h1>
        <p>"Choose the admin's name and password."</p>
        <ActionForm action=set_up>
            <Credentials/>
            <button type="submit">"Create the admin"</button>
        </ActionForm>
        <Failure result=move || set_up.value().get()/>
    }
}

/// Sign-in.
#[component]
pub(crate) fn Login() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    view! {
        <h1>"Sign in"</h1>
        <ActionForm action=sign_in>
            <Credentials/>
            <button type="submit">"Sign in"</button>
        </ActionForm>
        <Failure result=move || sign_in.value().get()/>
    }
}

/// A name and a password field.
#[component]
fn Credentials() -> impl IntoView {
    view! {
        <label>"Name" <input name="name" autocomplete="username" required/></label>
        <label>
            "Password"
            <input name="password" type="password" autocomplete="current-password" required/>
        </label>
    }
}

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
                                    alt=format!("photo {}", hit.photo)
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

/// Arrow keys move the focus between a grid's photos (Enter opens the focused one).
fn arrows(ev: leptos::ev::KeyboardEvent) {
    use leptos::wasm_bindgen::JsCast;
    let forward = match ev.key().as_str() {
        "ArrowRight" | "ArrowDown" => true,
        "ArrowLeft" | "ArrowUp" => false,
        _ => return,
    };
    let Some(item) = document()
        .active_element()
        .and_then(|link| link.parent_element())
    else {
        return;
    };
    let sibling = if forward {
        item.next_element_sibling()
    } else {
        item.previous_element_sibling()
    };
    if let Some(link) = sibling
        .and_then(|li| li.first_element_child())
        .and_then(|a| a.dyn_into::<leptos::web_sys::HtmlElement>().ok())
    {
        ev.prevent_default();
        let _ = link.focus();
    }
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

/// One photo: a large preview, its facts, its tags (a person adds and removes their own) and
/// look-alikes.
#[component]
pub(crate) fn PhotoPage() -> impl IntoView {
    view! {
        <SignedIn>
            <PhotoDetails/>
        </SignedIn>
    }
}

#[component]
fn PhotoDetails() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or_default()
    };
    let add = ServerAction::<AddTag>::new();
    let remove = ServerAction::<RemoveTag>::new();
    let question = ServerAction::<Ask>::new();
    let details = Resource::new(
        move || (id(), add.version().get(), remove.version().get()),
        |(id, _, _)| photo(id),
    );
    let look_alikes = Resource::new(id, similar);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                details
                    .get()
                    .map(|p| match p {
                        Ok(p) => {
                            view! {
                                <article class="photo">
                                    <img
                                        class="preview"
                                        src=format!("/api/v1/photos/{}/thumbnail/1280", p.id)
                                        alt=p.path.clone()
                                        width="1280"
                                        height="960"
                                    />
                                    <h1>{p.path.clone()}</h1>
                                    <dl>
                                        {p
                                            .facts
                                            .into_iter()
                                            .map(|(k, v)| view! { <dt>{k}</dt> <dd>{v}</dd> })
                                            .collect_view()}
                                    </dl>
                                    <h2>"Tags"</h2>
                                    <ul class="tags">
                                        {p
                                            .tags
                                            .into_iter()
                                            .map(|(tag, source, score)| {
                                                let label = match score {
                                                    Some(s) => format!("{tag} ({:.0} %)", s * 100.0),
                                                    None => tag.clone(),
                                                };
                                                let mine = source == "user";
                                                view! {
                                                    <li class=source>
                                                        {label}
                                                        {mine
                                                            .then(|| {
                                                                view! {
                                                                    <ActionForm action=remove>
                                                                        <input type="hidden" name="photo" value=p.id/>
                                                                        <input type="hidden" name="tag" value=tag.clone()/>
                                                                        <button type="submit" aria-label=format!("remove {tag}")>
                                                                            "×"
                                                                        </button>
                                                                    </ActionForm>
                                                                }
                                                            })}
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                    <ActionForm action=add>
                                        <input type="hidden" name="photo" value=p.id/>
                                        <label>"Add a tag " <input name="tag" required/></label>
                                        <button type="submit" class="add-tag">"Add"</button>
                                    </ActionForm>
                                    <Failure result=move || add.value().get()/>
                                    <h2>"Ask about this photo"</h2>
                                    <ActionForm action=question>
                                        <input type="hidden" name="photo" value=p.id/>
                                        <label>
                                            "Question "
                                            <input name="question" placeholder="what is on the table?" required/>
                                        </label>
                                        <button type="submit" class="ask">"Ask"</button>
                                    </ActionForm>
                                    {move || {
                                        question
                                            .value()
                                            .get()
                                            .map(|answer| {
                                                shown(answer.map(|a| view! { <p class="answer">{a}</p> }))
                                            })
                                    }}
                                </article>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    })
            }}
        </Suspense>
        <h2>"Similar photos"</h2>
        <Transition fallback=|| ()>
            {move || look_alikes.get().map(|h| shown(h.map(|h| view! { <Grid hits=h.hits/> })))}
        </Transition>
    }
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

/// Smart albums, and a form to make one.
#[component]
pub(crate) fn AlbumsPage() -> impl IntoView {
    view! {
        <SignedIn>
            <AlbumList/>
        </SignedIn>
    }
}

#[component]
fn AlbumList() -> impl IntoView {
    let create = ServerAction::<CreateAlbum>::new();
    let all = Resource::new(move || create.version().get(), |_| albums());
    view! {
        <h1>"Smart albums"</h1>
        <Suspense fallback=|| ()>
            {move || {
                all.get()
                    .map(|a| {
                        shown(a.map(|a| {
                            view! {
                                <ul class="albums">
                                    {a
                                        .into_iter()
                                        .map(|a| {
                                            view! {
                                                <li>
                                                    <strong>{a.name}</strong>
                                                    <span>
                                                        {format!(
                                                            " — {} (≥ {}): {} photos",
                                                            a.prompts.join(", "),
                                                            a.threshold,
                                                            a.photos,
                                                        )}
                                                    </span>
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
        <h2>"New album"</h2>
        <ActionForm action=create>
            <label>"Name " <input name="name" required/></label>
            <label>"Prompt " <input name="prompt" placeholder="a dog in the snow" required/></label>
            <label>
                "Threshold "
                <input name="threshold" type="number" step="0.01" min="-1" max="1" value="0.25"/>
            </label>
            <button type="submit">"Create"</button>
        </ActionForm>
        <Failure result=move || create.value().get()/>
    }
}

/// Follows the API's progress stream into `live` while the page is open (the browser only).
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

/// The library: roots, each stage's progress (live from the progress stream), failures.
#[component]
pub(crate) fn LibraryPage() -> impl IntoView {
    view! {
        <SignedIn>
            <Progress/>
        </SignedIn>
    }
}

#[component]
fn Progress() -> impl IntoView {
    let state = Resource::new(|| (), |()| library());
    // Then every second from the API's progress stream (server-sent events), in the browser.
    let live = RwSignal::new(None::<Vec<StageRow>>);
    Effect::new(move |_| follow_progress(live));
    view! {
        <h1>"Library"</h1>
        <Transition fallback=|| ()>
            {move || {
                state
                    .get()
                    .map(|l| {
                        shown(l.map(|l| {
                            view! {
                                <p class="photos">{format!("{} photos", l.photos)}</p>
                                <ul class="roots">
                                    {l.roots.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}
                                </ul>
                                <table
                                    class="stages"
                                    data-source=move || if live.get().is_some() { "stream" } else { "page" }
                                >
                                    <thead>
                                        <tr><th>"Stage"</th><th>"Done"</th><th>"Queued"</th><th>"Failed"</th><th>"Pace"</th></tr>
                                    </thead>
                                    <tbody>
                                        {move || {
                                            live.get()
                                                .unwrap_or_else(|| l.stages.clone())
                                                .into_iter()
                                                .map(|s| {
                                                    view! {
                                                        <tr>
                                                            <td>{s.stage}</td>
                                                            <td>
                                                                <progress max=s.total value=s.done></progress>
                                                                {format!(" {} / {}", s.done, s.total)}
                                                            </td>
                                                            <td>{s.queued}</td>
                                                            <td>{s.failed}</td>
                                                            <td>{s.pace}</td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()
                                        }}
                                    </tbody>
                                </table>
                                <h2>"Models"</h2>
                                <p class="serving">
                                    {format!(
                                        "Searching with {}; questions {}.",
                                        l.searching_with.unwrap_or_else(|| "no model (search is off)".to_owned()),
                                        if l.answering { "on" } else { "off" },
                                    )}
                                </p>
                                <table class="models">
                                    <thead>
                                        <tr><th>"Model"</th><th>"Installed"</th><th>"Configured"</th></tr>
                                    </thead>
                                    <tbody>
                                        {l
                                            .models
                                            .into_iter()
                                            .map(|(name, installed, active)| {
                                                view! {
                                                    <tr>
                                                        <td>{name}</td>
                                                        <td>{if installed { "yes" } else { "no" }}</td>
                                                        <td>{if active { "yes" } else { "" }}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                                <ul class="failures">
                                    {l
                                        .failures
                                        .into_iter()
                                        .map(|(photo, why)| view! { <li>{format!("photo {photo}: {why}")}</li> })
                                        .collect_view()}
                                </ul>
                            }
                        }))
                    })
            }}
        </Transition>
    }
}
