//! One photo: its record and tags, a person's tags, look-alikes, a question.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::Hits;
#[cfg(feature = "ssr")]
use super::answerer;
#[cfg(feature = "ssr")]
use super::ssr;

/// A photo as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PhotoView {
    pub(crate) id: i64,
    /// The file, relative to its library folder.
    pub(crate) path: String,
    /// `(label, value)` lines: taken, camera, lens, exposure, size, place.
    pub(crate) facts: Vec<(String, String)>,
    /// Captions as `(language, text)`, English first.
    pub(crate) captions: Vec<(String, String)>,
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
        captions: super::captions(&engine, photo.id).await?,
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
    .map_err(ssr::shown)?;
    match page {
        Some(page) => Hits::described(page).await,
        None => Ok(Hits::default()),
    }
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

/// A variation of a photo, as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VariationView {
    /// Its own photo, once the library has read it.
    pub(crate) photo: Option<i64>,
    pub(crate) seed: u64,
    pub(crate) prompt: String,
}

/// The variations Stable Diffusion made from a photo, oldest first.
#[server(prefix = "/ui")]
pub(crate) async fn variations(photo: i64) -> Result<Vec<VariationView>, ServerFnError> {
    ssr::signed_in().await?;
    let engine = ssr::context()?.engine;
    Ok(engine
        .variations_of(shoebox_core::PhotoId(photo))
        .await
        .map_err(ssr::shown)?
        .into_iter()
        .map(|v| VariationView {
            photo: v.photo.map(|p| p.0),
            seed: v.seed,
            prompt: v.prompt,
        })
        .collect())
}
