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
    Ok(Hits::from(page))
}

#[cfg(feature = "ssr")]
impl From<shoebox_engine::SearchPage> for Hits {
    fn from(page: shoebox_engine::SearchPage) -> Self {
        Self {
            total: page.total,
            next: page.next,
            hits: page
                .hits
                .into_iter()
                .map(|h| Hit {
                    photo: h.photo.0,
                    score: h.score,
                })
                .collect(),
        }
    }
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

/// A photo as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PhotoView {
    pub(crate) id: i64,
    /// The file, relative to its library folder.
    pub(crate) path: String,
    /// `(label, value)` lines: taken, camera, lens, exposure, size, place.
    pub(crate) facts: Vec<(String, String)>,
    /// Tags: name, source (`user`, `zero_shot`, `exif`) and the model's probability.
    pub(crate) tags: Vec<(String, String, Option<f32>)>,
}

/// A photo's record and tags.
#[server(prefix = "/ui")]
pub(crate) async fn photo(id: i64) -> Result<PhotoView, ServerFnError> {
    use shoebox_core::{MetadataStore, PhotoId};
    ssr::signed_in().await?;
    let engine = ssr::context()?.engine;
    let photo = engine
        .photo(PhotoId(id))
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| ServerFnError::new("no such photo"))?;
    let mut facts = Vec::new();
    if let Some(m) = &photo.metadata {
        if let Some(t) = m.taken_at {
            facts.push(("Taken".to_owned(), t.to_string().replace('T', " ")));
        }
        let camera = [m.camera_make.as_deref(), m.camera_model.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !camera.is_empty() {
            facts.push(("Camera".to_owned(), camera));
        }
        if let Some(lens) = &m.lens {
            facts.push(("Lens".to_owned(), lens.clone()));
        }
        let e = &m.exposure;
        let exposure = [
            e.exposure_time_s.map(|t| {
                if t < 1.0 {
                    format!("1/{:.0} s", 1.0 / t)
                } else {
                    format!("{t} s")
                }
            }),
            e.f_number.map(|f| format!("f/{f}")),
            e.iso.map(|i| format!("ISO {i}")),
            e.focal_length_mm.map(|f| format!("{f} mm")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        if !exposure.is_empty() {
            facts.push(("Exposure".to_owned(), exposure));
        }
        facts.push(("Size".to_owned(), format!("{} × {}", m.width, m.height)));
        if let Some(g) = m.gps {
            facts.push((
                "Place".to_owned(),
                format!("{:.5}, {:.5}", g.latitude, g.longitude),
            ));
        }
    }
    let tags = engine
        .store()
        .photo_tags(photo.id)
        .await
        .map_err(ssr::shown)?
        .into_iter()
        .map(|t| (t.tag, t.source, t.score))
        .collect();
    Ok(PhotoView {
        id,
        path: photo.rel_path,
        facts,
        tags,
    })
}

/// Adds a person's tag to a photo.
#[server(prefix = "/ui")]
pub(crate) async fn add_tag(photo: i64, tag: String) -> Result<(), ServerFnError> {
    ssr::signed_in().await?;
    let context = ssr::context()?;
    let photo = shoebox_core::PhotoId(photo);
    if !context
        .engine
        .tag_photo(photo, &tag)
        .await
        .map_err(ssr::shown)?
    {
        return Err(ServerFnError::new("no such photo"));
    }
    if let Some(live) = &context.live {
        live.nudge();
    }
    Ok(())
}

/// Removes a person's tag from a photo.
#[server(prefix = "/ui")]
pub(crate) async fn remove_tag(photo: i64, tag: String) -> Result<(), ServerFnError> {
    ssr::signed_in().await?;
    let context = ssr::context()?;
    let photo = shoebox_core::PhotoId(photo);
    context
        .engine
        .untag_photo(photo, &tag)
        .await
        .map_err(ssr::shown)?;
    if let Some(live) = &context.live {
        live.nudge();
    }
    Ok(())
}

/// Photos that look like a photo.
#[server(prefix = "/ui")]
pub(crate) async fn similar(photo: i64) -> Result<Hits, ServerFnError> {
    ssr::signed_in().await?;
    let context = ssr::context()?;
    let Some(live) = context.live else {
        return Ok(Hits::default());
    };
    let engine = context.engine;
    let request = shoebox_engine::SearchRequest {
        limit: 12,
        ..shoebox_engine::SearchRequest::default()
    };
    let page = tokio::task::spawn_blocking(move || {
        live.similar(
            &engine.settings().search,
            &request,
            shoebox_core::PhotoId(photo),
        )
    })
    .await
    .map_err(ssr::shown)?
    .map_err(ssr::shown)?
    .map_or_else(Hits::default, Hits::from);
    Ok(page)
}

/// Every tag with its number of photos.
#[server(prefix = "/ui")]
pub(crate) async fn tags() -> Result<Vec<(String, usize)>, ServerFnError> {
    ssr::signed_in().await?;
    let counts = ssr::context()?
        .engine
        .tag_counts()
        .await
        .map_err(ssr::shown)?;
    Ok(counts.into_iter().map(|c| (c.tag, c.photos)).collect())
}

/// A smart album as listed: name, prompts, threshold, photos now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AlbumRow {
    pub(crate) name: String,
    pub(crate) prompts: Vec<String>,
    pub(crate) threshold: f32,
    pub(crate) photos: usize,
}

/// Every smart album with its size.
#[server(prefix = "/ui")]
pub(crate) async fn albums() -> Result<Vec<AlbumRow>, ServerFnError> {
    ssr::signed_in().await?;
    let albums = ssr::context()?.engine.albums().await.map_err(ssr::shown)?;
    Ok(albums
        .into_iter()
        .map(|a| AlbumRow {
            name: a.album.name,
            prompts: a.album.prompts,
            threshold: a.album.threshold,
            photos: a.photos,
        })
        .collect())
}

/// Makes a smart album from one prompt and a threshold; the live library fills it.
#[server(prefix = "/ui")]
pub(crate) async fn create_album(
    name: String,
    prompt: String,
    threshold: f32,
) -> Result<(), ServerFnError> {
    ssr::signed_in().await?;
    let context = ssr::context()?;
    context
        .engine
        .put_album(&name, &[prompt], threshold)
        .await
        .map_err(ssr::shown)?;
    if let Some(live) = &context.live {
        live.nudge();
    }
    Ok(())
}

/// One stage's progress: name, done, total, jobs queued, failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StageRow {
    pub(crate) stage: String,
    pub(crate) done: u64,
    pub(crate) total: u64,
    pub(crate) queued: u64,
    pub(crate) failed: u64,
    /// Photos per second and time left, once the progress stream has measured them.
    pub(crate) pace: String,
}

#[cfg(feature = "hydrate")]
/// What the API's progress stream (`/api/v1/status/stream`, server-sent events) sends each
/// second, as far as the library page shows it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Streamed {
    stages: Vec<StreamedStage>,
    rates: Vec<StreamedRate>,
}

#[cfg(feature = "hydrate")]
#[derive(Debug, Clone, Deserialize)]
struct StreamedStage {
    stage: String,
    lang: Option<String>,
    done: u64,
    total: u64,
    jobs: StreamedJobs,
}

#[cfg(feature = "hydrate")]
#[derive(Debug, Clone, Deserialize)]
struct StreamedJobs {
    queued: u64,
    running: u64,
    failed: u64,
}

#[cfg(feature = "hydrate")]
#[derive(Debug, Clone, Deserialize)]
struct StreamedRate {
    per_second: f64,
    eta_seconds: Option<f64>,
}

#[cfg(feature = "hydrate")]
impl Streamed {
    /// The stages as the page's rows, with their pace.
    pub(crate) fn rows(self) -> Vec<StageRow> {
        self.stages
            .into_iter()
            .zip(
                self.rates
                    .into_iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            )
            .map(|(s, rate)| StageRow {
                stage: stage_name(&s.stage, s.lang.as_deref()),
                done: s.done,
                total: s.total,
                queued: s.jobs.queued + s.jobs.running,
                failed: s.jobs.failed,
                pace: rate.map_or_else(String::new, |r| match r.eta_seconds {
                    Some(eta) => format!("{:.1}/s, {:.0} s left", r.per_second, eta),
                    None => String::new(),
                }),
            })
            .collect()
    }
}

/// A stage as the page names it: `embed`, `tag`, `caption (de)`.
fn stage_name(stage: &str, lang: Option<&str>) -> String {
    match lang {
        Some(lang) => format!("{stage} ({lang})"),
        None => stage.to_owned(),
    }
}

/// The library: roots, stages, failures with reasons.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LibraryView {
    pub(crate) photos: u64,
    pub(crate) roots: Vec<String>,
    pub(crate) stages: Vec<StageRow>,
    pub(crate) failures: Vec<(i64, String)>,
    /// The catalog's CLIP models: name, installed, the one the settings name.
    pub(crate) models: Vec<(String, bool, bool)>,
    /// The model searches use now.
    pub(crate) searching_with: Option<String>,
    /// Whether questions are answered.
    pub(crate) answering: bool,
}

/// The library's roots and the pipeline's progress.
#[server(prefix = "/ui")]
pub(crate) async fn library() -> Result<LibraryView, ServerFnError> {
    let user = ssr::signed_in().await?;
    let context = ssr::context()?;
    let engine = context.engine;
    let progress = engine.progress().await.map_err(ssr::shown)?;
    let models = engine
        .models()
        .map_err(ssr::shown)?
        .into_iter()
        .map(|m| (m.name, m.installed, m.active))
        .collect();
    // Roots are paths on the server: admins only, as in the API.
    let roots = if user.role == shoebox_core::Role::Admin {
        engine.roots().await.map_err(ssr::shown)?
    } else {
        Vec::new()
    };
    Ok(LibraryView {
        photos: progress.photos,
        roots: roots
            .into_iter()
            .map(|r| r.path.display().to_string())
            .collect(),
        stages: progress
            .stages
            .into_iter()
            .map(|s| StageRow {
                stage: stage_name(s.stage.as_str(), s.lang.as_deref()),
                done: s.done,
                total: s.total,
                queued: s.jobs.queued + s.jobs.running,
                failed: s.jobs.failed,
                pace: String::new(),
            })
            .collect(),
        failures: progress
            .failures
            .into_iter()
            .map(|f| (f.photo.0, f.reason))
            .collect(),
        models,
        searching_with: context.live.map(|live| live.model_id()),
        answering: context.answerer.is_some(),
    })
}

/// The answering model, or why questions are off.
#[cfg(feature = "ssr")]
fn answerer() -> Result<std::sync::Arc<shoebox_engine::ImageToText>, ServerFnError> {
    ssr::context()?.answerer.ok_or_else(|| {
        ServerFnError::new("questions are off until an answering model is installed")
    })
}

/// Asks a question about one photo.
#[server(prefix = "/ui")]
pub(crate) async fn ask(photo: i64, question: String) -> Result<String, ServerFnError> {
    ssr::signed_in().await?;
    let model = answerer()?;
    let engine = ssr::context()?.engine;
    let path = engine
        .photo_path(shoebox_core::PhotoId(photo))
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| ServerFnError::new("no such photo"))?;
    tokio::task::spawn_blocking(move || engine.answer_file(model.as_ref(), &path, &question, "en"))
        .await
        .map_err(ssr::shown)?
        .map_err(ssr::shown)
}

/// One question over several photos: each photo's answer (or why it has none), and a summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Answers {
    pub(crate) answers: Vec<(i64, Result<String, String>)>,
    pub(crate) summary: String,
}

/// Most photos one question goes over from the UI.
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
    let csrf = csrf_token().await.map_err(|e| e.to_string())?;
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
            .map(|h| Hit {
                photo: h.photo,
                score: h.score,
            })
            .collect(),
    })
}
