//! One photo: its preview, facts, tags, look-alikes and a question box.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::vary::MoreLikeThis;
use super::{Failure, Grid, SignedIn, shown};
use crate::calls::{AddTag, Ask, RemoveTag, photo, similar};

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
                                        alt=p
                                            .captions
                                            .first()
                                            .map_or_else(|| p.path.clone(), |(_, text)| text.clone())
                                        width="1280"
                                        height="960"
                                    />
                                    <h1>{p.path.clone()}</h1>
                                    <p>
                                        <a href=format!("/api/v1/photos/{}/original", p.id) download="">
                                            "Download the original"
                                        </a>
                                    </p>
                                    <ul class="captions">
                                        {p
                                            .captions
                                            .iter()
                                            .map(|(lang, text)| {
                                                view! { <li lang=lang.clone()>{text.clone()}</li> }
                                            })
                                            .collect_view()}
                                    </ul>
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
                                    <MoreLikeThis
                                        photo=p.id
                                        caption=p
                                            .captions
                                            .first()
                                            .map_or_else(|| "a photo".to_owned(), |(_, text)| text.clone())
                                    />
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
