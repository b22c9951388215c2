//! `shoebox index`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use shoebox_engine::{CaptionSummary, EmbedSummary, Engine, Error, ScanSummary, TagSummary};

use crate::output;
use crate::progress::{Bar, photos_bar};

#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    summary: ScanSummary,
    /// Photos embedded by CLIP in this run; absent when no model is installed.
    embedded: Option<usize>,
    /// Photos that could not be embedded.
    embed_failed: usize,
    /// Photos scored for zero-shot tags in this run; absent when tagging is off.
    tagged: Option<usize>,
    /// Captions written in this run; absent when captioning is off or no captioner is
    /// installed.
    captioned: Option<usize>,
    seconds: f64,
}

pub(crate) async fn run(
    engine: &Engine,
    paths: &[PathBuf],
    embed: bool,
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    if paths.is_empty() && engine.roots().await?.is_empty() {
        anyhow::bail!("no library roots yet: run `shoebox index PHOTO_FOLDER`");
    }
    let bar = Bar::new(json);
    let started = Instant::now();
    let summary = engine.index(paths, &bar).await;
    bar.finish();
    let summary = summary?;
    let (embedded, hint) = if embed {
        embed_new(engine, model_dir, json).await?
    } else {
        (None, None)
    };
    let (captioned, caption_hint) = if engine.settings().captions.enabled {
        caption_new(engine, json).await?
    } else {
        (None, None)
    };
    let seconds = started.elapsed().as_secs_f64();
    if json {
        return output::json(&Report {
            summary,
            embed_failed: embedded.as_ref().map_or(0, |(e, _)| e.failed.len()),
            tagged: embedded.as_ref().and_then(|(_, t)| t.map(|t| t.scored)),
            embedded: embedded.map(|(e, _)| e.embedded),
            captioned: captioned.map(|c| c.captioned),
            seconds,
        });
    }
    let read = summary.new + summary.changed + summary.failed;
    let mut lines = vec![
        format!(
            "Scanned {} files in {seconds:.1} s ({:.1} photos/s read)",
            summary.files,
            read as f64 / seconds.max(1e-9)
        ),
        format!(
            "  {} new, {} changed, {} moved, {} removed, {} failed, {} unchanged, {} not images",
            summary.new,
            summary.changed,
            summary.moved,
            summary.removed,
            summary.failed,
            summary.unchanged,
            summary.skipped
        ),
    ];
    if summary.failed + summary.problems > 0 {
        lines.push(format!(
            "  {} failed, {} folder problems: see `shoebox status` for reasons",
            summary.failed, summary.problems
        ));
    }
    if let Some((e, tagged)) = embedded {
        lines.push(format!("  {} photos embedded for search", e.embedded));
        for (photo, reason) in e.failed.iter().take(5) {
            lines.push(format!("  photo {photo} not embedded: {reason}"));
        }
        if let Some(t) = tagged {
            lines.push(format!("  {} photos tagged ({} tags)", t.scored, t.tags));
        }
    }
    if let Some(c) = captioned {
        lines.push(format!(
            "  {} captions written ({:.2} s each)",
            c.captioned, c.mean_seconds
        ));
        for (photo, reason) in c.failed.iter().take(5) {
            lines.push(format!("  photo {photo} not captioned: {reason}"));
        }
        if c.deferred > 0 {
            lines.push(format!(
                "  {} photos wait for captions until the hours in captions.utc_hours",
                c.deferred
            ));
        }
        if !c.unsupported_languages.is_empty() {
            lines.push(format!(
                "  the captioner writes no {}",
                c.unsupported_languages.join(", ")
            ));
        }
    }
    lines.extend(hint);
    lines.extend(caption_hint);
    output::text(lines)
}

/// Captions what has no caption yet; without an installed captioner, a hint instead.
async fn caption_new(
    engine: &Engine,
    json: bool,
) -> anyhow::Result<(Option<CaptionSummary>, Option<String>)> {
    let blip = match engine.captioner(None) {
        Ok(blip) => blip,
        Err(e @ Error::CaptionerMissing { .. }) => {
            return Ok((None, Some(format!("  Captions are off: {e}"))));
        }
        Err(e) => return Err(e.into()),
    };
    let bar = photos_bar(json, "captioning");
    let summary = engine
        .caption_library(&blip, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await;
    bar.finish_and_clear();
    Ok((Some(summary?), None))
}

/// Embeds what the scan found new and tags it; without an installed model, a hint instead.
pub(crate) async fn embed_new(
    engine: &Engine,
    model_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<(Option<(EmbedSummary, Option<TagSummary>)>, Option<String>)> {
    let clip = match engine.clip(model_dir) {
        Ok(clip) => clip,
        Err(e @ Error::ModelMissing { .. }) => {
            return Ok((None, Some(format!("  Search by meaning is off: {e}"))));
        }
        Err(e) => return Err(e.into()),
    };
    let mut indices = engine.indices(&clip).await?;
    let bar = photos_bar(json, "embedding");
    let summary = engine
        .embed_library(&clip, &mut indices, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await;
    bar.finish_and_clear();
    let summary = summary?;
    // The text index is opened again by tagging.
    drop(indices);
    let tagged = if engine.settings().tags.enabled {
        Some(engine.tag_library(&clip).await?)
    } else {
        None
    };
    Ok((Some((summary, tagged)), None))
}
