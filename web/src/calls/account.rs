//! Setup, sign-in and sign-out, and the session's anti-forgery token for the page's own API
//! calls.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr;

/// Starts a session for `name` (the cookie the API uses too) and goes to the search page.
#[cfg(feature = "ssr")]
async fn start_session(name: &str, password: &str) -> Result<(), ServerFnError> {
    let context = ssr::context()?;
    let session = context
        .engine
        .sign_in(name, password)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let cookie = shoebox_engine::session_cookie(&session.token, secure);
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.insert_header(
        axum::http::header::SET_COOKIE,
        axum::http::HeaderValue::from_str(&cookie)
            .map_err(|e| ServerFnError::new(e.to_string()))?,
    );
    leptos_axum::redirect("/");
    Ok(())
}

/// Signs in.
#[server(prefix = "/ui")]
pub(crate) async fn sign_in(name: String, password: String) -> Result<(), ServerFnError> {
    start_session(&name, &password).await
}

/// First run: makes the admin and signs them in.
#[server(prefix = "/ui")]
pub(crate) async fn set_up(name: String, password: String) -> Result<(), ServerFnError> {
    let made = ssr::context()?
        .engine
        .set_up(&name, &password)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    if made.is_none() {
        return Err(ServerFnError::new("Shoebox has its admin already: sign in"));
    }
    start_session(&name, &password).await
}

/// Ends the session and goes to sign-in.
#[server(prefix = "/ui")]
pub(crate) async fn sign_out() -> Result<(), ServerFnError> {
    if let Some(token) = ssr::session_token().await? {
        let engine = ssr::context()?.engine;
        engine
            .sign_out(shoebox_engine::token_hash(&token))
            .await
            .map_err(ssr::shown)?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.insert_header(
        axum::http::header::SET_COOKIE,
        axum::http::HeaderValue::from_str(&shoebox_engine::session_cookie("", false))
            .map_err(ssr::shown)?,
    );
    leptos_axum::redirect("/login");
    Ok(())
}

/// The session's anti-forgery token, which API requests from the page repeat (an upload).
#[server(prefix = "/ui")]
pub(crate) async fn csrf_token() -> Result<String, ServerFnError> {
    let token = ssr::session_token()
        .await?
        .ok_or_else(|| ServerFnError::new("sign in first"))?;
    let session = ssr::context()?
        .engine
        .session(&token)
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| ServerFnError::new("sign in first"))?;
    Ok(session.csrf)
}
