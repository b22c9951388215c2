//! A search as typed and narrowed, one question over its photos, and (in the browser) a
//! search by an uploaded photo.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::Hits;
#[cfg(feature = "ssr")]
use super::answerer;
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

/// One question over several photos: each photo's answer (or why it has none), and a summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Answers {
    pub(crate) answers: Vec<(i64, Result<String, String>)>,
    pub(crate) summary: String,
}

/// Most photos one question goes over from the UI.
#[cfg(feature = "ssr")]
const MAX_ASKED: usize = 20;

/// Asks one question of the given photos (the first page of a search).
#[server(prefix = "/ui")]
pub(crate) async fn ask_over(photos: Vec<i64>, question: String) -> Result<Answers, ServerFnError> {
    ssr::signed_in().await?;
    let model = answerer()?;
    let engine = ssr::context()?.engine;
    let photos: Vec<shoebox_core::PhotoId> = photos
        .into_iter()
        .take(MAX_ASKED)
        .map(shoebox_core::PhotoId)
        .collect();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut answers = Vec::new();
        let never = std::sync::atomic::AtomicBool::new(false);
        let summary = runtime.block_on(engine.ask_photos(
            model.as_ref(),
            &photos,
            &question,
            "en",
            &never,
            &mut |a| {
                let answer = match (&a.answer, &a.error) {
                    (Some(text), _) => Ok(text.clone()),
                    (None, why) => Err(why.clone().unwrap_or_default()),
                };
                answers.push((a.photo.0, answer));
            },
        ))?;
        let common = summary
            .most_common
            .map(|(answer, n)| format!(" Most said “{answer}” ({n})."))
            .unwrap_or_default();
        Ok::<_, shoebox_engine::Error>(Answers {
            summary: format!(
                "{} answered, {} without an answer; {} yes, {} no.{common}",
                summary.answered, summary.failed, summary.yes, summary.no
            ),
            answers,
        })
    })
    .await
    .map_err(ssr::shown)?
    .map_err(ssr::shown)
}

/// A page of hits as the API sends it, as far as the grid needs it.
#[cfg(feature = "hydrate")]
#[derive(Debug, Clone, Deserialize)]
struct ApiPage {
    hits: Vec<ApiHit>,
    total: usize,
}

#[cfg(feature = "hydrate")]
#[derive(Debug, Clone, Deserialize)]
struct ApiHit {
    photo: i64,
    score: f32,
}

/// Photos that look like `file` (a photo the person chose or dropped): the API's upload route,
/// from the browser.
#[cfg(feature = "hydrate")]
pub(crate) async fn similar_to_file(file: web_sys::File) -> Result<Hits, String> {
    use leptos::wasm_bindgen::JsCast;
    let csrf = super::account::csrf_token()
        .await
        .map_err(|e| e.to_string())?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&file);
    let headers = web_sys::Headers::new().map_err(|_| "headers".to_owned())?;
    headers
        .set("x-csrf-token", &csrf)
        .map_err(|_| "headers".to_owned())?;
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init("/api/v1/similar?limit=60", &init)
        .map_err(|_| "request".to_owned())?;
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| "the upload failed".to_owned())?
            .dyn_into()
            .map_err(|_| "not a response".to_owned())?;
    let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| "no body")?)
        .await
        .map_err(|_| "no body".to_owned())?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("the server answered {}", response.status()));
        return Err(message);
    }
    let page: ApiPage = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(Hits {
        total: page.total,
        next: None,
        hits: page
            .hits
            .into_iter()
            .map(|h| super::Hit {
                photo: h.photo,
                score: h.score,
                alt: format!("photo {}", h.photo),
            })
            .collect(),
    })
}
