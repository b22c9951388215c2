//! First-run setup and sign-in.

#![allow(
    unreachable_pub,
    reason = "leptos' #[component] makes each component's props public"
)]

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::Failure;
use crate::calls::{SetUp, SignIn};

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
