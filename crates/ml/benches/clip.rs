//! CLIP speed on CPU: image embeddings per second of full-size ViT-B/32 (random weights, same
//! FLOPs as the real model) at batch 1, 8 and 32, and the latency of one text query — candle
//! beside ONNX Runtime running the same weights, in the same run.
//!
//! How to run (the Python side needs the packages pinned in `clip_ort.py`):
//!
//! ```sh
//! python3 -m venv /tmp/venv
//! /tmp/venv/bin/pip install torch==2.5.1 transformers==4.46.3 onnxruntime==1.20.1 onnx==1.17.0 tokenizers
//! /tmp/venv/bin/python crates/ml/benches/clip_ort.py export /tmp/clip-b32
//! SHOEBOX_BENCH_CLIP=/tmp/clip-b32 SHOEBOX_BENCH_PYTHON=/tmp/venv/bin/python \
//!     cargo bench -p shoebox-ml --bench clip
//! ```
//!
//! Without `SHOEBOX_BENCH_PYTHON` only candle is measured.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use candle_core::{Device, Tensor};
use shoebox_ml::Clip;

/// The allocator of the `shoebox` binary, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCHES: [usize; 3] = [1, 8, 32];
const QUERY: &str = "a photo of a dog playing on the beach at sunset";
const MIN_TIME: Duration = Duration::from_secs(8);

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::var_os("SHOEBOX_BENCH_CLIP").context(
        "set SHOEBOX_BENCH_CLIP to a full-size checkpoint made by crates/ml/benches/clip_ort.py export DIR",
    )?);
    let clip = Clip::load(&dir, "vit-b32-random", &Device::Cpu)?;

    let mut candle = Vec::new();
    for batch in BATCHES {
        let pixels = Tensor::randn(0f32, 1f32, (batch, 3, 224, 224), &Device::Cpu)?;
        clip.embed_pixels(&pixels)?;
        let (mut runs, started) = (0usize, Instant::now());
        while runs < 3 || started.elapsed() < MIN_TIME {
            clip.embed_pixels(&pixels)?;
            runs += 1;
        }
        candle.push((batch * runs) as f64 / started.elapsed().as_secs_f64());
    }
    let mut times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        clip.embed_text(QUERY)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let text_ms = median(&mut times[5..]);

    let ort = match std::env::var_os("SHOEBOX_BENCH_PYTHON") {
        Some(python) => Some(onnx_runtime(Path::new(&python), &dir)?),
        None => None,
    };

    println!();
    println!(
        "| CLIP ViT-B/32, f32, CPU ({} cores) | candle | ONNX Runtime | candle / ORT |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("|---|---:|---:|---:|");
    for (batch, ours) in BATCHES.iter().zip(&candle) {
        let theirs = ort
            .as_ref()
            .and_then(|o| o["images_per_s"][batch.to_string()].as_f64());
        println!(
            "| images/s, batch {batch} | {ours:.1} | {} | {} |",
            fmt(theirs),
            ratio(Some(*ours), theirs)
        );
    }
    let theirs = ort.as_ref().and_then(|o| o["text_ms"].as_f64());
    println!(
        "| text query latency, ms | {text_ms:.1} | {} | {} |",
        fmt(theirs),
        ratio(theirs, Some(text_ms))
    );
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

/// Speed ratio, candle over ORT (above 1 means candle is faster).
fn ratio(candle: Option<f64>, ort: Option<f64>) -> String {
    match (candle, ort) {
        (Some(c), Some(o)) if o > 0.0 => format!("{:.2}×", c / o),
        _ => "–".to_owned(),
    }
}

fn onnx_runtime(python: &Path, dir: &Path) -> anyhow::Result<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/clip_ort.py");
    let out = Command::new(python)
        .arg(script)
        .arg("bench")
        .arg(dir)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}
