//! A search as typed and narrowed.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::Hits;
#[cfg(feature = "ssr")]
use super::ssr;

/// What the search form holds besides the query: filters as typed, the order, and where the
/// previous page ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Narrowing {
    /// Taken on or after (`YYYY-MM-DD`).
    pub(crate) since: String,
    /// Taken on or before (`YYYY-MM-DD`).
    pub(crate) until: String,
    /// Camera make or model words.
    pub(crate) camera: String,
    /// Comma-separated tags, all required.
    pub(crate) tags: String,
    /// Newest first instead of best first.
    pub(crate) by_date: bool,
}

/// A page of a search as typed in the box, narrowed by the form (the engine checks both).
#[server(prefix = "/ui")]
pub(crate) async fn search(
    query: String,
    narrowing: Narrowing,
    cursor: Option<String>,
) -> Result<Hits, ServerFnError> {
    ssr::signed_in().await?;
    let context = ssr::context()?;
    let live = context
        .live
        .ok_or_else(|| ServerFnError::new("search is off until a CLIP model is installed"))?;
    let given = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let form = shoebox_engine::SearchForm {
        limit: Some(60),
        cursor,
        sort: if narrowing.by_date {
            shoebox_engine::SortOrder::Date
        } else {
            shoebox_engine::SortOrder::Relevance
        },
        since: given(narrowing.since),
        until: given(narrowing.until),
        camera: given(narrowing.camera),
        tags: given(narrowing.tags),
        ..shoebox_engine::SearchForm::default()
    };
    let request = form.request(query).map_err(ssr::shown)?;
    let engine = context.engine;
    let page =
        tokio::task::spawn_blocking(move || live.search(&engine.settings().search, &request))
            .await
            .map_err(ssr::shown)?
            .map_err(ssr::shown)?;
    Hits::described(page).await
}
