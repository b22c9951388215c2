//! Live-indexing throughput: photos per second through the whole pipeline without captions —
//! scan (hash, EXIF, decode, thumbnails, SQLite), CLIP embedding as queued jobs, zero-shot tags,
//! both indices — on generated JPEGs with a full-size ViT-B/32 (random weights, same FLOPs),
//! beside, in the same run, the embed-only throughput (the model on already-decoded 224 px
//! images, as the CLIP bench measures it); and the process's peak memory while indexing and
//! its memory when idle with the model loaded and the indices open (afterwards, and in a fresh
//! process).
//!
//! How to run (the checkpoint from `crates/ml/benches/clip_ort.py export DIR`):
//!
//! ```sh
//! SHOEBOX_BENCH_CLIP=/tmp/clip-b32 cargo bench -p shoebox-engine --bench pipeline
//! SHOEBOX_BENCH_PRECISION=bf16 SHOEBOX_BENCH_WIDTH=3000 SHOEBOX_BENCH_HEIGHT=2000 ...
//! ```
//!
//! `SHOEBOX_BENCH_PHOTOS` (default 2000), `SHOEBOX_BENCH_WIDTH` × `SHOEBOX_BENCH_HEIGHT`
//! (default 1600 × 1200), `SHOEBOX_BENCH_PRECISION` (`f32`, `bf16`, `q8_0`, `q4_k`).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use shoebox_core::{ImageEmbedder, Pixels};
use shoebox_engine::{Engine, Settings};
use shoebox_ml::Precision;
use shoebox_testkit::{jpeg, rss_mib, with_comment};

/// The allocator of the `shoebox` binary, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Distinct base images; every file is one of them with a unique comment (unique bytes).
const BASES: u64 = 8;
/// Images embedded for the embed-only rate.
const EMBED_ONLY: usize = 512;
/// Set in the child process that measures a fresh idle library.
const IDLE_CHILD: &str = "SHOEBOX_BENCH_IDLE_DATA";

fn env_number(name: &str, default: u32) -> anyhow::Result<u32> {
    std::env::var(name).ok().map_or(Ok(default), |v| {
        v.parse().with_context(|| format!("{name}={v}"))
    })
}

fn main() -> anyhow::Result<()> {
    let clip_dir = PathBuf::from(std::env::var_os("SHOEBOX_BENCH_CLIP").context(
        "set SHOEBOX_BENCH_CLIP to a full-size checkpoint made by crates/ml/benches/clip_ort.py export DIR",
    )?);
    let precision = std::env::var("SHOEBOX_BENCH_PRECISION").unwrap_or_else(|_| "f32".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(data) = std::env::var_os(IDLE_CHILD) {
        return runtime.block_on(idle_child(Path::new(&data), &clip_dir, &precision));
    }
    let count = env_number("SHOEBOX_BENCH_PHOTOS", 2000)?;
    let width = env_number("SHOEBOX_BENCH_WIDTH", 1600)?;
    let height = env_number("SHOEBOX_BENCH_HEIGHT", 1200)?;
    let dir = tempfile::tempdir()?;
    let photos = dir.path().join("photos");
    let bases: Vec<Vec<u8>> = (0..BASES)
        .map(|seed| jpeg(width, height, seed))
        .collect::<anyhow::Result<_>>()?;
    for i in 0..count {
        let base = &bases[(u64::from(i) % BASES) as usize];
        shoebox_testkit::put(
            &photos,
            &format!("{:02}/{i:05}.jpg", i % 50),
            &with_comment(base, &i.to_string())?,
        )?;
    }
    let data = dir.path().join("data");
    runtime.block_on(async {
        let engine = open(&data, &precision).await?;
        let clip = engine.clip(Some(&clip_dir))?;

        // The model alone, on decoded 224 px images in batches of `models.batch_size`.
        let batch = engine.settings().models.batch_size;
        let images: Vec<Pixels> = (0..batch as u64)
            .map(|seed| {
                let rgb = shoebox_testkit::textured(224, 224, seed).into_raw();
                Pixels {
                    width: 224,
                    height: 224,
                    rgb,
                }
            })
            .collect();
        clip.embed_images(&images)?;
        let started = Instant::now();
        for _ in 0..EMBED_ONLY / batch {
            clip.embed_images(&images)?;
        }
        let embed_only = (EMBED_ONLY / batch * batch) as f64 / started.elapsed().as_secs_f64();

        // The whole pipeline, as a pass of the live library runs it.
        let started = Instant::now();
        let scan = engine.index(std::slice::from_ref(&photos), &()).await?;
        let scanned = started.elapsed().as_secs_f64();
        let mut indices = engine.indices(&clip).await?;
        let embedded = engine
            .embed_library(&clip, &mut indices, &|_, _| {})
            .await?;
        drop(indices);
        let embedding = started.elapsed().as_secs_f64() - scanned;
        let tagged = engine.tag_library(&clip).await?;
        let total = started.elapsed().as_secs_f64();
        let tagging = total - scanned - embedding;
        anyhow::ensure!(
            scan.new == u64::from(count) && embedded.embedded == count as usize
                && tagged.scored == count as usize,
            "not every photo went through: {scan:?}, {} embedded, {} tagged",
            embedded.embedded,
            tagged.scored
        );
        let peak = rss_mib("VmHWM:");
        let (mean_cosine, min_cosine) = thumbnail_fidelity(&engine, &clip, &photos).await?;
        let indices = engine.indices(&clip).await?;
        let idle_after = rss_mib("VmRSS:");
        drop(indices);

        let child = std::process::Command::new(std::env::current_exe()?)
            .env(IDLE_CHILD, &data)
            .output()?;
        anyhow::ensure!(
            child.status.success(),
            "idle child: {}",
            String::from_utf8_lossy(&child.stderr)
        );
        let idle_fresh = String::from_utf8(child.stdout)?.trim().parse::<f64>()?;

        let rate = f64::from(count) / total;
        println!();
        println!(
            "| ViT-B/32, {precision}, {count} JPEGs of {width}×{height}, {} cores | photos/s | seconds |",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!("|---|---:|---:|");
        println!("| embed only (model on decoded 224 px images, batch {batch}) | {embed_only:.1} | {:.1} |", f64::from(count) / embed_only);
        println!("| whole pipeline: scan + embed + tags + indices | {rate:.1} | {total:.1} |");
        for (stage, seconds) in [
            ("scan (hash, EXIF, decode, thumbnails, SQLite)", scanned),
            ("embedding (decode for CLIP, model, store, vector index)", embedding),
            ("tags (label embeddings once, scoring, store, text index)", tagging),
        ] {
            println!("| of which {stage} | {:.1} | {seconds:.1} |", f64::from(count) / seconds);
        }
        println!();
        println!("pipeline / embed-only: {:.2}×", rate / embed_only);
        println!(
            "CLIP input from the scan's 1280 px thumbnails against the originals: cosine mean {mean_cosine:.4}, min {min_cosine:.4} (16 photos)"
        );
        println!(
            "memory: peak while indexing {peak:.0} MiB; idle with the model loaded and the indices open: {idle_after:.0} MiB after indexing, {idle_fresh:.0} MiB in a fresh process"
        );
        anyhow::Ok(())
    })
}

async fn open(data: &Path, precision: &str) -> anyhow::Result<Engine> {
    let mut settings = Settings::default();
    settings.storage.data_dir = data.to_owned();
    settings.captions.enabled = false;
    settings.models.precision = match precision {
        "f32" => Precision::F32,
        "bf16" => Precision::Bf16,
        "q8_0" => Precision::Q8_0,
        "q4_k" => Precision::Q4K,
        other => anyhow::bail!("SHOEBOX_BENCH_PRECISION={other}: f32, bf16, q8_0 or q4_k"),
    };
    Ok(Engine::open(settings).await?)
}

/// How close the stored embeddings (made from the thumbnails) are to embeddings of the
/// original files: mean and least cosine over 16 photos.
async fn thumbnail_fidelity(
    engine: &Engine,
    clip: &shoebox_ml::Clip,
    photos: &Path,
) -> anyhow::Result<(f32, f32)> {
    use shoebox_core::MetadataStore;
    let stored = engine.store().live_embeddings(clip.model_id()).await?;
    let live = engine.store().live_photos().await?;
    let mut cosines = Vec::new();
    for e in stored.iter().take(16) {
        let photo = live
            .iter()
            .find(|p| p.id == e.photo)
            .context("a stored photo")?;
        let original = engine.embed_files(clip, &[photos.join(&photo.rel_path)])?;
        let cosine: f32 = original[0]
            .vector
            .iter()
            .zip(&e.vector)
            .map(|(a, b)| a * b)
            .sum();
        cosines.push(cosine);
    }
    let mean = cosines.iter().sum::<f32>() / cosines.len().max(1) as f32;
    Ok((mean, cosines.iter().copied().fold(f32::INFINITY, f32::min)))
}

/// A fresh process's memory with the model loaded and the indices open, after one query: a
/// server at rest.
async fn idle_child(data: &Path, clip_dir: &Path, precision: &str) -> anyhow::Result<()> {
    let engine = open(data, precision).await?;
    let clip = engine.clip(Some(clip_dir))?;
    let indices = engine.indices(&clip).await?;
    // At rest after one query: the allocator returns what loading freed (the weights are
    // packed after they are read) once it runs again after its purge delay.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    clip.embed_text("a photo of a dog")?;
    println!("{:.0}", rss_mib("VmRSS:"));
    drop(indices);
    Ok(())
}
