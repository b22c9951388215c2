//! "More like this" on a photo's page: a prompt (the photo's caption, editable), a button that
//! queues Stable Diffusion variations through the API, a progress bar that follows the
//! request's stream, and the variations made so far beside the photo — each a photo of its own
//! (searchable with the generated filter, downloadable).

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::prelude::*;

use super::{follow_progress, shown};
use crate::calls::{StageRow, variations};

/// Where the request the person made stands, as the page shows it.
#[derive(Debug, Clone, PartialEq)]
struct Progress {
    /// "queued", "running", "done", "failed", "cancelled".
    state: String,
    /// Sampler steps done of all steps of all variations.
    done: u64,
    total: u64,
    /// What to say about it.
    text: String,
}

/// Queues variations of `photo` under `prompt` and follows the request's stream into
/// `progress` (the browser only); `finished` is bumped when it ends.
fn vary(photo: i64, prompt: String, progress: RwSignal<Option<Progress>>, finished: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        let say = |state: &str, text: String| Progress {
            state: state.to_owned(),
            done: 0,
            total: 0,
            text,
        };
        progress.set(Some(say("queued", "Queued…".to_owned())));
        let job = match crate::calls::api::vary(photo, &prompt).await {
            Ok(job) => job,
            Err(why) => {
                progress.set(Some(say("failed", why)));
                return;
            }
        };
        let Ok(source) = web_sys::EventSource::new(&format!("/api/v1/vary/{job}/stream")) else {
            progress.set(Some(say(
                "failed",
                "the progress stream did not open".to_owned(),
            )));
            return;
        };
        let closing = source.clone();
        let on_status = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                let Some(status) = event
                    .data()
                    .as_string()
                    .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                else {
                    return;
                };
                let now = described(&status);
                let ended = !matches!(now.state.as_str(), "queued" | "running");
                progress.set(Some(now));
                if ended {
                    closing.close();
                    finished.update(|n| *n += 1);
                }
            },
        );
        let _ =
            source.add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref());
        on_status.forget();
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (photo, prompt, progress, finished);
}

/// A request's status (the API's JSON) as the page shows it.
#[cfg(feature = "hydrate")]
fn described(status: &serde_json::Value) -> Progress {
    let number = |key: &str| status[key].as_u64().unwrap_or_default();
    let state = status["state"].as_str().unwrap_or_default().to_owned();
    let count = number("count").max(1);
    let (done, total, text) = match state.as_str() {
        "queued" => (0, 0, format!("Queued ({} ahead)…", number("ahead"))),
        "running" => {
            let (variation, step, steps) = (number("variation"), number("step"), number("steps"));
            (
                variation * steps + step,
                count * steps,
                format!(
                    "Variation {} of {count}: step {step} of {steps}",
                    variation + 1
                ),
            )
        }
        "done" => (
            1,
            1,
            "Done: the variations appear below once read.".to_owned(),
        ),
        "failed" => (
            0,
            0,
            format!("Failed: {}", status["reason"].as_str().unwrap_or_default()),
        ),
        _ if status["timed_out"] == serde_json::Value::Bool(true) => {
            (0, 0, "Stopped at the time limit.".to_owned())
        }
        _ => (0, 0, "Cancelled.".to_owned()),
    };
    Progress {
        state,
        done,
        total,
        text,
    }
}

/// The "more like this" box and the photo's variations.
#[component]
pub(crate) fn MoreLikeThis(photo: i64, caption: String) -> impl IntoView {
    let (prompt, set_prompt) = signal(caption);
    let progress = RwSignal::new(None::<Progress>);
    let finished = RwSignal::new(0u32);
    // Variations become photos once the library has read them: read the list again when a
    // request ends and whenever the library's progress moves.
    let library = RwSignal::new(None::<Vec<StageRow>>);
    Effect::new(move |_| follow_progress(library));
    let moved =
        move || library.with(|rows| rows.as_ref().map(|r| r.iter().map(|s| s.done).sum::<u64>()));
    // Read in the browser only, once the page has hydrated: the list changes with the live
    // stream, which must not race the hydration of the page around it.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let made = LocalResource::new(move || {
        let _ = (finished.get(), moved());
        variations(photo)
    });
    view! {
        <section class="more-like-this">
            <h2>"More like this"</h2>
            <form on:submit=move |ev| {
                ev.prevent_default();
                vary(photo, prompt.get_untracked(), progress, finished);
            }>
                <label>
                    "Prompt "
                    <input
                        name="vary-prompt"
                        prop:value=prompt
                        on:input=move |ev| set_prompt.set(event_target_value(&ev))
                    />
                </label>
                <button
                    type="submit"
                    class="vary"
                    disabled=move || {
                        progress.with(|p| p.as_ref().is_some_and(|p| p.state == "queued" || p.state == "running"))
                    }
                >
                    "More like this"
                </button>
            </form>
            {move || {
                progress
                    .get()
                    .map(|p| {
                        view! {
                            <p class="vary-progress" data-state=p.state.clone() aria-live="polite">
                                <progress max=p.total.max(1) value=p.done></progress>
                                " "
                                {p.text}
                            </p>
                        }
                    })
            }}
            <Show when=move || hydrated.get()>
            <Transition fallback=|| ()>
                {move || {
                    made.get()
                        .map(|all| {
                            shown(all.map(|all| {
                                view! {
                                    <ul class="grid variations">
                                        {all
                                            .into_iter()
                                            .map(|v| match v.photo {
                                                Some(id) => {
                                                    view! {
                                                        <li>
                                                            <a href=format!("/photos/{id}")>
                                                                <img
                                                                    src=format!("/api/v1/photos/{id}/thumbnail/256")
                                                                    alt=format!("a variation: {}", v.prompt)
                                                                    loading="lazy"
                                                                    width="256"
                                                                    height="256"
                                                                />
                                                            </a>
                                                            <a href=format!("/api/v1/photos/{id}/original") download="">
                                                                {format!("download (seed {})", v.seed)}
                                                            </a>
                                                        </li>
                                                    }
                                                        .into_any()
                                                }
                                                None => {
                                                    view! { <li class="pending">{format!("seed {}: being read…", v.seed)}</li> }
                                                        .into_any()
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                }
                            }))
                        })
                }}
            </Transition>
            </Show>
        </section>
    }
}
