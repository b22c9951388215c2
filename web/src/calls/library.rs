//! Tags, smart albums and the library's state.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

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
    dead: u64,
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
                failed: s.jobs.dead,
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
    /// The roots (admins only): id and folder.
    pub(crate) roots: Vec<(i64, String)>,
    /// Folders an admin may add as roots (`[storage] root_parents`), in the server's order.
    pub(crate) offered: Vec<String>,
    pub(crate) stages: Vec<StageRow>,
    pub(crate) failures: Vec<(i64, String)>,
    /// Whether the caller may queue dead jobs again (admins).
    pub(crate) may_retry: bool,
    /// What the live library is waiting out (a locked database, say), if anything.
    pub(crate) degraded: Option<String>,
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
    let is_admin = user.role == shoebox_core::Role::Admin;
    // Roots are paths on the server: admins only, as in the API.
    let (roots, offered) = if is_admin {
        (
            engine.roots().await.map_err(ssr::shown)?,
            engine.offered_roots().await.map_err(ssr::shown)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(LibraryView {
        photos: progress.photos,
        roots: roots
            .into_iter()
            .map(|r| (r.id.0, r.path.display().to_string()))
            .collect(),
        offered: offered
            .into_iter()
            .map(|dir| dir.display().to_string())
            .collect(),
        stages: progress
            .stages
            .into_iter()
            .map(|s| StageRow {
                stage: stage_name(s.stage.as_str(), s.lang.as_deref()),
                done: s.done,
                total: s.total,
                queued: s.jobs.queued + s.jobs.running,
                failed: s.jobs.dead,
                pace: String::new(),
            })
            .collect(),
        failures: progress
            .failures
            .into_iter()
            .map(|f| {
                (
                    f.photo.0,
                    format!("{} failed {} times: {}", f.kind, f.attempts, f.reason),
                )
            })
            .collect(),
        may_retry: is_admin,
        degraded: progress.degraded.map(|d| d.reason),
        models,
        searching_with: context.live.map(|live| live.model_id()),
        answering: context.answerer.is_some(),
    })
}

/// The signed-in admin, or why not.
#[cfg(feature = "ssr")]
async fn admin() -> Result<(), ServerFnError> {
    if ssr::signed_in().await?.role == shoebox_core::Role::Admin {
        Ok(())
    } else {
        Err(ServerFnError::new(
            "only an admin changes the library's folders and jobs",
        ))
    }
}

/// Adds the `index`-th offered folder (still named `name`) as a root; the live library
/// watches and scans it at once.
#[server(prefix = "/ui")]
pub(crate) async fn add_root(index: usize, name: String) -> Result<(), ServerFnError> {
    admin().await?;
    let context = ssr::context()?;
    context
        .engine
        .add_offered_root(index, &name)
        .await
        .map_err(ssr::shown)?;
    if let Some(live) = context.live {
        live.roots_changed();
    }
    Ok(())
}

/// Removes a root with every record under it; the live library's next pass takes its photos
/// out of both indices.
#[server(prefix = "/ui")]
pub(crate) async fn remove_root(id: i64) -> Result<(), ServerFnError> {
    admin().await?;
    let context = ssr::context()?;
    context
        .engine
        .remove_root(&id.to_string())
        .await
        .map_err(ssr::shown)?;
    if let Some(live) = context.live {
        live.roots_changed();
    }
    Ok(())
}

/// Queues the dead jobs (out of attempts) again with fresh attempts, after their cause is
/// fixed; how many.
#[server(prefix = "/ui")]
pub(crate) async fn retry_jobs() -> Result<u64, ServerFnError> {
    admin().await?;
    ssr::context()?
        .engine
        .retry_dead_jobs(None)
        .await
        .map_err(ssr::shown)
}
