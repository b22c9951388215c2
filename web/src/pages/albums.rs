//! Smart albums, and a form to make one.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{Failure, SignedIn, follow_progress, shown};
use crate::calls::{CreateAlbum, StageRow, albums};

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
    // Albums fill as photos are embedded and tagged: the list is read again whenever the
    // progress stream says a stage has done more.
    let progress = RwSignal::new(None::<Vec<StageRow>>);
    Effect::new(move |_| follow_progress(progress));
    let done = move || {
        progress.with(|p| {
            p.as_ref()
                .map(|rows| rows.iter().map(|r| r.done).sum::<u64>())
        })
    };
    let all = Resource::new(move || (create.version().get(), done()), |_| albums());
    view! {
        <h1>"Smart albums"</h1>
        <Transition fallback=|| ()>
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
        </Transition>
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
