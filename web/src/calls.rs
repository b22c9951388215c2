//! Server functions: what the pages ask the server, each a call into the engine on behalf of
//! the signed-in person (by the session cookie the API's sign-in set). This module holds what
//! they share: who is visiting, the hits of a search, the answering model.

mod account;
#[cfg(feature = "hydrate")]
pub(crate) mod api;
mod library;
mod photo;
mod search;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub(crate) use account::{SetUp, SignIn, SignOut};
#[cfg(feature = "hydrate")]
pub(crate) use library::Streamed;
pub(crate) use library::{
    AddRoot, CreateAlbum, RemoveRoot, RetryJobs, StageRow, albums, library, tags,
};
pub(crate) use photo::{AddTag, Ask, RemoveTag, photo, similar, variations};
pub(crate) use search::{Narrowing, search};

/// A found photo, as the grid shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Hit {
    /// The photo's id (thumbnails come from the API by id).
    pub(crate) photo: i64,
    /// Its place's score.
    pub(crate) score: f32,
    /// What the photo shows, for people who cannot see it: its caption, when it has one.
    pub(crate) alt: String,
}

/// A page of hits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Hits {
    pub(crate) hits: Vec<Hit>,
    pub(crate) total: usize,
    /// The next page's cursor; `None` on the last.
    pub(crate) next: Option<String>,
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

    /// An engine error as the page shows it.
    pub(super) fn shown(e: impl std::fmt::Display) -> ServerFnError {
        ServerFnError::new(e.to_string())
    }

    /// The signed-in user, or the error that sends the page to sign-in.
    pub(super) async fn signed_in() -> Result<User, ServerFnError> {
        user()
            .await?
            .ok_or_else(|| ServerFnError::new("sign in first"))
    }

    /// The session token of the request's cookie.
    pub(super) async fn session_token() -> Result<Option<String>, ServerFnError> {
        let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
        let cookies = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(shoebox_engine::session_token(cookies).map(str::to_owned))
    }

    /// The signed-in user, by the request's session cookie.
    pub(super) async fn user() -> Result<Option<User>, ServerFnError> {
        let Some(token) = session_token().await? else {
            return Ok(None);
        };
        let session = context()?.engine.session(&token).await.map_err(shown)?;
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

#[cfg(feature = "ssr")]
impl Hits {
    /// A page of the engine's hits, each described by its caption (English first).
    async fn described(page: shoebox_engine::SearchPage) -> Result<Self, ServerFnError> {
        let engine = ssr::context()?.engine;
        let mut hits = Vec::with_capacity(page.hits.len());
        for h in page.hits {
            hits.push(Hit {
                photo: h.photo.0,
                score: h.score,
                alt: caption(&engine, h.photo)
                    .await?
                    .unwrap_or_else(|| format!("photo {}", h.photo)),
            });
        }
        Ok(Self {
            total: page.total,
            next: page.next,
            hits,
        })
    }
}

/// A photo's captions as `(language, text)`, English first.
#[cfg(feature = "ssr")]
async fn captions(
    engine: &shoebox_engine::Engine,
    photo: shoebox_core::PhotoId,
) -> Result<Vec<(String, String)>, ServerFnError> {
    use shoebox_core::MetadataStore;
    let mut captions: Vec<(String, String)> = engine
        .store()
        .live_captions(Some(photo))
        .await
        .map_err(ssr::shown)?
        .into_iter()
        .map(|c| (c.lang, c.text))
        .collect();
    captions.sort_by_key(|(lang, _)| lang != "en");
    Ok(captions)
}

/// A photo's first caption (English first).
#[cfg(feature = "ssr")]
async fn caption(
    engine: &shoebox_engine::Engine,
    photo: shoebox_core::PhotoId,
) -> Result<Option<String>, ServerFnError> {
    Ok(captions(engine, photo)
        .await?
        .into_iter()
        .next()
        .map(|(_, text)| text))
}

/// The answering model, or why questions are off.
#[cfg(feature = "ssr")]
fn answerer() -> Result<std::sync::Arc<shoebox_engine::ImageToText>, ServerFnError> {
    ssr::context()?.answerer.ok_or_else(|| {
        ServerFnError::new("questions are off until an answering model is installed")
    })
}
