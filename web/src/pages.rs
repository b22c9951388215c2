//! The pages: first-run setup, sign-in, and search. Each shows what a server function returns
//! and sends what the person typed back to one; none holds logic of its own.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::calls::{SetUp, SignIn, search, who_is_visiting};

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

/// One box for words and meaning, and the photos it finds.
#[component]
pub(crate) fn Search() -> impl IntoView {
    let visitor = Resource::new(|| (), |()| who_is_visiting());
    let (query, set_query) = signal(String::new());
    let hits = Resource::new(move || query.get(), search);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                visitor.get().map(|v| match v {
                    Ok(v) if v.name.is_some() => view! {
                        <header>
                            <h1>"Shoebox"</h1>
                            <input
                                type="search"
                                aria-label="Search photos"
                                placeholder="beach -people, a red bicycle…"
                                prop:value=query
                                on:input=move |ev| set_query.set(event_target_value(&ev))
                            />
                        </header>
                        <Transition fallback=|| ()>
                            {move || hits.get().map(|page| match page {
                                Ok(page) => view! {
                                    <p class="count">{format!("{} photos", page.total)}</p>
                                    <ul class="grid">
                                        {page.hits.into_iter().map(|hit| view! {
                                            <li>
                                                <img
                                                    src=format!("/api/v1/photos/{}/thumbnail/256", hit.photo)
                                                    alt=format!("photo {}", hit.photo)
                                                    loading="lazy"
                                                    width="256"
                                                    height="256"
                                                />
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                                Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                            })}
                        </Transition>
                    }.into_any(),
                    Ok(v) if !v.set_up => view! {
                        <p>"Shoebox has no admin yet: " <a href="/setup">"set it up"</a>"."</p>
                    }.into_any(),
                    Ok(_) => view! { <p><a href="/login">"Sign in"</a>" to search your photos."</p> }.into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                })
            }}
        </Suspense>
    }
}
