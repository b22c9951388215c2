//! CLIP speed on CPU: image embeddings per second of full-size ViT-B/32 (random weights, same
//! FLOPs as the real model) at batch 1, 8 and 32, and the latency of one text query — candle in
//! f32 and (where the CPU has AVX-512 BF16) bf16, beside ONNX Runtime running the same weights
//! in f32, in the same run; and how close the bf16 embeddings are to the f32 ones.
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
//! Without `SHOEBOX_BENCH_PYTHON` only candle is measured. With `SHOEBOX_BENCH_MOBILECLIP=DIR`
//! (a random full-size MobileCLIP-S1 from `tests/fixtures/gen_mobileclip.py --full-size DIR`)
//! its speed is measured too.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use candle_core::{Device, Tensor};
use shoebox_core::Pixels;
use shoebox_ml::{Clip, Precision};

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
    let mut clip = Clip::load(&dir, "vit-b32-random", &Device::Cpu)?;
    let f32_run = measure(&clip)?;
    let bf16_run = match clip.set_precision(Precision::Bf16)? {
        Precision::Bf16 => Some(measure(&clip)?),
        _ => None,
    };

    let ort = match std::env::var_os("SHOEBOX_BENCH_PYTHON") {
        Some(python) => Some(onnx_runtime(Path::new(&python), &dir)?),
        None => None,
    };

    println!();
    println!(
        "| CLIP ViT-B/32, CPU ({} cores) | candle f32 | candle bf16 | ONNX Runtime f32 | f32 / ORT | bf16 / ORT |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, batch) in BATCHES.iter().enumerate() {
        let theirs = ort
            .as_ref()
            .and_then(|o| o["images_per_s"][batch.to_string()].as_f64());
        let ours = Some(f32_run.images_per_s[i]);
        let bf16 = bf16_run.as_ref().map(|r| r.images_per_s[i]);
        println!(
            "| images/s, batch {batch} | {} | {} | {} | {} | {} |",
            fmt(ours),
            fmt(bf16),
            fmt(theirs),
            ratio(ours, theirs),
            ratio(bf16, theirs)
        );
    }
    let theirs = ort.as_ref().and_then(|o| o["text_ms"].as_f64());
    let bf16 = bf16_run.as_ref().map(|r| r.text_ms);
    println!(
        "| text query latency, ms | {} | {} | {} | {} | {} |",
        fmt(Some(f32_run.text_ms)),
        fmt(bf16),
        fmt(theirs),
        ratio(theirs, Some(f32_run.text_ms)),
        ratio(theirs, bf16)
    );
    if let Some(run) = &bf16_run {
        println!();
        println!(
            "bf16 against f32, same inputs: image embedding cosine {:.5}, text {:.5}",
            cosine(&run.image, &f32_run.image),
            cosine(&run.text, &f32_run.text)
        );
    }
    if let Some(dir) = std::env::var_os("SHOEBOX_BENCH_MOBILECLIP") {
        let mobile = measure(&Clip::load(
            Path::new(&dir),
            "mobileclip-s1-random",
            &Device::Cpu,
        )?)?;
        println!();
        println!("| MobileCLIP-S1, f32 | candle |");
        println!("|---|---:|");
        for (batch, ips) in BATCHES.iter().zip(&mobile.images_per_s) {
            println!("| images/s, batch {batch} | {ips:.1} |");
        }
        println!("| text query latency, ms | {:.1} |", mobile.text_ms);
    }
    Ok(())
}

/// One precision's numbers, and the embeddings of one fixed image and the query.
struct Run {
    images_per_s: Vec<f64>,
    text_ms: f64,
    image: Vec<f32>,
    text: Vec<f32>,
}

fn measure(clip: &Clip) -> anyhow::Result<Run> {
    // A synthetic photo through the model's own preprocessing (224 px for CLIP, 256 for
    // MobileCLIP).
    let (width, height) = (320u32, 240u32);
    let rgb = (0..width * height * 3)
        .map(|i| u8::try_from((i * 7 + i / 960) % 256).unwrap_or(0))
        .collect();
    let one = clip.pixel_tensor(&Pixels { width, height, rgb })?;
    let mut images_per_s = Vec::new();
    let mut image = Vec::new();
    for batch in BATCHES {
        let pixels = Tensor::stack(&vec![one.clone(); batch], 0)?;
        clip.embed_pixels(&pixels)?;
        let (mut runs, started) = (0usize, Instant::now());
        while runs < 3 || started.elapsed() < MIN_TIME {
            clip.embed_pixels(&pixels)?;
            runs += 1;
        }
        images_per_s.push((batch * runs) as f64 / started.elapsed().as_secs_f64());
    }
    if let Some(e) = clip.embed_pixels(&one.unsqueeze(0)?)?.pop() {
        image = e.vector;
    }
    let mut times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        clip.embed_text(QUERY)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(Run {
        images_per_s,
        text_ms: median(&mut times[5..]),
        image,
        text: clip.embed_text(QUERY)?.vector,
    })
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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
