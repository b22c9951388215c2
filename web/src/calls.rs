//! Server functions: what the pages ask the server, each a call into the engine on behalf of
//! the signed-in person (by the session cookie the API's sign-in set).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A found photo, as the grid shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Hit {
    /// The photo's id (thumbnails come from the API by id).
    pub(crate) photo: i64,
    /// Its place's score.
    pub(crate) score: f32,
}

/// A page of hits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Hits {
    pub(crate) hits: Vec<Hit>,
    pub(crate) total: usize,
}

/// Who is signed in (`None`: nobody), and whether Shoebox has its admin yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Visitor {
    pub(crate) name: Option<String>,
    pub(crate) set_up: bool,
}

#[cfg(feature = "ssr")]
mod ssr {
    use leptos::prelude::*;
    use shoebox_core::User;

    use crate::serve::WebContext;

    pub(super) fn context() -> Result<WebContext, ServerFnError> {
        use_context::<WebContext>().ok_or_else(|| ServerFnError::new("no server context"))
    }

    /// The signed-in user, by the request's session cookie.
    pub(super) async fn user() -> Result<Option<User>, ServerFnError> {
        let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
        let cookies = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        let Some(token) = shoebox_engine::session_token(cookies) else {
            return Ok(None);
        };
        let session = context()?
            .engine
            .session(token)
            .await
            .map_err(|e| ServerFnError::new(e.to_string()))?;
        Ok(session.map(|s| s.user))
    }
}

/// Who is visiting.
#[server(prefix = "/ui")]
pub(crate) async fn who_is_visiting() -> Result<Visitor, ServerFnError> {
    use shoebox_core::MetadataStore;
    let set_up = ssr::context()?
        .engine
        .store()
        .user_count()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?
        > 0;
    Ok(Visitor {
        name: ssr::user().await?.map(|u| u.name),
        set_up,
    })
}

/// A search as typed in the box.
#[server(prefix = "/ui")]
pub(crate) async fn search(query: String) -> Result<Hits, ServerFnError> {
    if ssr::user().await?.is_none() {
        return Err(ServerFnError::new("sign in first"));
    }
    let context = ssr::context()?;
    let live = context
        .live
        .ok_or_else(|| ServerFnError::new("search is off until a CLIP model is installed"))?;
    let engine = context.engine;
    let request = shoebox_engine::SearchRequest {
        query,
        limit: 60,
        ..shoebox_engine::SearchRequest::default()
    };
    let page =
        tokio::task::spawn_blocking(move || live.search(&engine.settings().search, &request))
            .await
            .map_err(|e| ServerFnError::new(e.to_string()))?
            .map_err(|e| ServerFnError::new(e.to_string()))?;
    Ok(Hits {
        total: page.total,
        hits: page
            .hits
            .into_iter()
            .map(|h| Hit {
                photo: h.photo.0,
                score: h.score,
            })
            .collect(),
    })
}

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
