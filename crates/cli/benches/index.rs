//! Indexing throughput: `shoebox index` on generated camera-sized JPEGs, beside a bare
//! decode + resize loop over the same files, so the cost of hashing, EXIF, thumbnail encoding
//! and the store is visible.
//!
//! How to run (prints a table; generates ≈ 2.6 GB of JPEGs in a temporary folder):
//!
//! ```sh
//! cargo bench -p shoebox --bench index
//! SHOEBOX_BENCH_PHOTOS=200 cargo bench -p shoebox --bench index   # a quick look
//! SHOEBOX_BENCH_DIR=/tmp/photos cargo bench ...   # keep the generated photos
//! ```

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use rayon::prelude::*;
use shoebox_testkit::{jpeg, with_comment};

/// The same allocator as the `shoebox` binary, so that both pipelines pay the same for memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Distinct base images; every file is one of them with a unique comment (unique bytes).
const BASES: u64 = 8;

fn env_number(name: &str, default: u32) -> anyhow::Result<u32> {
    std::env::var(name).ok().map_or(Ok(default), |v| {
        v.parse().with_context(|| format!("{name}={v}"))
    })
}

fn main() -> anyhow::Result<()> {
    let count = env_number("SHOEBOX_BENCH_PHOTOS", 2000)?;
    let width = env_number("SHOEBOX_BENCH_WIDTH", 3000)?;
    let height = env_number("SHOEBOX_BENCH_HEIGHT", 2000)?;
    let dir = tempfile::tempdir()?;
    // SHOEBOX_BENCH_DIR keeps the generated photos there, for profiling the same files.
    let photos = std::env::var_os("SHOEBOX_BENCH_DIR")
        .map_or_else(|| dir.path().join("photos"), PathBuf::from);

    let started = Instant::now();
    let bases: Vec<Vec<u8>> = (0..BASES)
        .into_par_iter()
        .map(|seed| jpeg(width, height, seed))
        .collect::<anyhow::Result<_>>()?;
    let files = (0..count)
        .map(|i| {
            let path = photos.join(format!("{:02}/{i:05}.jpg", i % 50));
            shoebox_testkit::put(
                &photos,
                &format!("{:02}/{i:05}.jpg", i % 50),
                &with_comment(&bases[(u64::from(i) % BASES) as usize], &format!("{i}"))?,
            )?;
            Ok(path)
        })
        .collect::<anyhow::Result<Vec<PathBuf>>>()?;
    let bytes: u64 = files
        .iter()
        .map(|f| fs_err::metadata(f).map_or(0, |m| m.len()))
        .sum();
    eprintln!(
        "generated {count} JPEGs of {width}×{height} ({:.2} GB) in {:.1} s",
        bytes as f64 / 1e9,
        started.elapsed().as_secs_f64()
    );

    // Both runs read from the page cache: warm it first.
    for f in &files {
        fs_err::read(f)?;
    }
    let bare = time(|| bare_loop(&files))?;
    let index = time(|| shoebox_index(&photos, &dir.path().join("data")))?;

    println!();
    println!(
        "| pipeline ({count} JPEGs, {width}×{height}, {} threads) | seconds | photos/s |",
        rayon::current_num_threads()
    );
    println!("|---|---:|---:|");
    println!(
        "| bare decode + resize to 1280 and 256 (image + fast_image_resize) | {bare:.1} | {:.1} |",
        f64::from(count) / bare
    );
    println!(
        "| `shoebox index` (hash, sniff, EXIF, decode, thumbnails, SQLite) | {index:.1} | {:.1} |",
        f64::from(count) / index
    );
    println!();
    println!(
        "shoebox index takes {:.2}× the bare loop's time",
        index / bare
    );
    Ok(())
}

fn time(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let started = Instant::now();
    f()?;
    Ok(started.elapsed().as_secs_f64())
}

/// Decode and resize only, in parallel, as the indexer's thumbnailer resizes.
fn bare_loop(files: &[PathBuf]) -> anyhow::Result<()> {
    files.par_iter().try_for_each(|path| -> anyhow::Result<()> {
        let bytes = fs_err::read(path)?;
        let rgb =
            image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)?.into_rgb8();
        let mut resizer = Resizer::new();
        let options =
            ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
        let (mut w, mut h, mut pixels) = (rgb.width(), rgb.height(), rgb.into_raw());
        for max in [1280u32, 256] {
            let scale = f64::from(max) / f64::from(w.max(h));
            let (tw, th) = (
                (f64::from(w) * scale).round() as u32,
                (f64::from(h) * scale).round() as u32,
            );
            let src = ImageRef::new(w, h, &pixels, PixelType::U8x3)?;
            let mut dst = Image::new(tw, th, PixelType::U8x3);
            resizer.resize(&src, &mut dst, &options)?;
            (w, h, pixels) = (tw, th, dst.into_vec());
        }
        std::hint::black_box(pixels);
        Ok(())
    })
}

fn shoebox_index(photos: &Path, data: &Path) -> anyhow::Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_shoebox"))
        .arg("--data-dir")
        .arg(data)
        .arg("index")
        .arg(photos)
        .arg("--json")
        .env("XDG_CONFIG_HOME", data.join("no-config"))
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    eprintln!("shoebox index: {summary}");
    anyhow::ensure!(summary["failed"] == 0, "some photos failed");
    Ok(())
}
