//! The library: roots, models, and each stage's progress, live from the progress stream.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{Failure, SignedIn, follow_progress, shown};
use crate::calls::{AddRoot, RemoveRoot, RetryJobs, StageRow, library};

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
    let add = ServerAction::<AddRoot>::new();
    let remove = ServerAction::<RemoveRoot>::new();
    let retry = ServerAction::<RetryJobs>::new();
    let state = Resource::new(
        move || {
            (
                add.version().get(),
                remove.version().get(),
                retry.version().get(),
            )
        },
        |_| library(),
    );
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
                                    {l
                                        .roots
                                        .into_iter()
                                        .map(|(id, folder)| {
                                            view! {
                                                <li>
                                                    {folder.clone()}
                                                    <ActionForm action=remove>
                                                        <input type="hidden" name="id" value=id/>
                                                        <button type="submit" class="remove-root" aria-label=format!("stop indexing {folder}")>
                                                            "Remove"
                                                        </button>
                                                    </ActionForm>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                                {(!l.offered.is_empty())
                                    .then(|| {
                                        view! {
                                            <h2>"Add a folder"</h2>
                                            <ul class="offered">
                                                {l
                                                    .offered
                                                    .into_iter()
                                                    .enumerate()
                                                    .map(|(index, folder)| {
                                                        let name = folder.rsplit('/').next().unwrap_or_default().to_owned();
                                                        view! {
                                                            <li>
                                                                {folder.clone()}
                                                                <ActionForm action=add>
                                                                    <input type="hidden" name="index" value=index/>
                                                                    <input type="hidden" name="name" value=name/>
                                                                    <button type="submit" class="add-root" aria-label=format!("index {folder}")>
                                                                        "Add"
                                                                    </button>
                                                                </ActionForm>
                                                            </li>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        }
                                    })}
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
                                {l.degraded.map(|why| view! { <p class="degraded" role="alert">{why}</p> })}
                                {(l.may_retry && !l.failures.is_empty())
                                    .then(|| {
                                        view! {
                                            <ActionForm action=retry>
                                                <button type="submit" class="retry-jobs">"Retry the failed jobs"</button>
                                            </ActionForm>
                                        }
                                    })}
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
        <Failure result=move || add.value().get()/>
        <Failure result=move || remove.value().get()/>
        <Failure result=move || retry.value().get().map(|r| r.map(|_| ()))/>
    }
}
