//! Captioning and answering speed on CPU, full size with random weights (same FLOPs as the
//! real checkpoints): seconds per caption of 20 tokens (image tower, decoder tokens/s), per
//! short answer, and each row's resident memory once loaded and at its peak.
//!
//! How to run:
//!
//! ```sh
//! python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r tests/fixtures/requirements.txt
//! /tmp/venv/bin/python tests/fixtures/gen_blip.py --full-size /tmp/blip-base
//! /tmp/venv/bin/python tests/fixtures/gen_blip.py --full-size-vqa /tmp/blip-base-vqa
//! /tmp/venv/bin/python tests/fixtures/gen_paligemma.py --full-size /tmp/paligemma   # 12 GB
//! SHOEBOX_BENCH_BLIP=/tmp/blip-base SHOEBOX_BENCH_BLIP_VQA=/tmp/blip-base-vqa \
//!     SHOEBOX_BENCH_PALIGEMMA=/tmp/paligemma cargo bench -p shoebox-ml --bench caption
//! ```
//!
//! Each variable is optional; a row per model given and precision in
//! `SHOEBOX_BENCH_PRECISIONS` (default `f32,bf16,q8_0,q4_k`), each measured in its own process
//! (median of `SHOEBOX_BENCH_RUNS`, default 5, after a warm-up).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use shoebox_core::Pixels;
use shoebox_ml::{Generation, ImageToText, Precision};
use shoebox_testkit::rss_mib;

/// The allocator of the `shoebox` binary, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKENS: usize = 20;
/// The variable a child process reads its row from.
const ROW: &str = "SHOEBOX_BENCH_ROW";

fn main() -> anyhow::Result<()> {
    // A child process measures one row, so each row's peak memory is its own.
    if let Ok(spec) = std::env::var(ROW) {
        let mut parts = spec.splitn(3, '|');
        let (Some(name), Some(precision), Some(dir)) = (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("{ROW}: expected NAME|PRECISION|DIR, got {spec:?}");
        };
        let precision: Precision = serde_json::from_value(precision.into())?;
        return row(name, precision, &PathBuf::from(dir));
    }
    let precisions = std::env::var("SHOEBOX_BENCH_PRECISIONS")
        .unwrap_or_else(|_| "f32,bf16,q8_0,q4_k".to_owned());
    println!();
    println!(
        "| model, CPU ({} cores) | precision | load s | RSS after load MiB | image tower s | caption of {TOKENS} tokens s | decoder tokens/s | short answer s | peak RSS MiB |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut any = false;
    for (var, name) in [
        ("SHOEBOX_BENCH_BLIP", "BLIP-base captioning"),
        ("SHOEBOX_BENCH_BLIP_VQA", "BLIP-base VQA"),
        ("SHOEBOX_BENCH_PALIGEMMA", "PaliGemma-3B-224"),
    ] {
        let Some(dir) = std::env::var_os(var) else {
            continue;
        };
        any = true;
        for precision in precisions.split(',') {
            let status = std::process::Command::new(std::env::current_exe()?)
                .env(ROW, format!("{name}|{precision}|{}", dir.to_string_lossy()))
                .status()?;
            anyhow::ensure!(status.success(), "{name} in {precision}: {status}");
        }
    }
    anyhow::ensure!(
        any,
        "set SHOEBOX_BENCH_BLIP (and / or _BLIP_VQA, _PALIGEMMA) to full-size checkpoints: see the header"
    );
    Ok(())
}

/// Times one model: the image tower, a caption forced to `TOKENS` tokens (decoder tokens/s
/// from the difference), and a short answer.
fn row(name: &str, precision: Precision, dir: &std::path::Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let model = ImageToText::load_in(dir, "random", &Device::Cpu, precision)?;
    let effective = precision.effective(&Device::Cpu);
    let load_s = started.elapsed().as_secs_f64();
    let loaded_mib = rss_mib("VmRSS:");
    let (width, height) = (640u32, 480u32);
    let rgb = (0..width * height * 3)
        .map(|i| u8::try_from((i * 7 + i / 1920) % 256).unwrap_or(0))
        .collect();
    let image = Pixels { width, height, rgb };
    let forced = Generation {
        max_new_tokens: TOKENS,
        min_new_tokens: TOKENS,
        ..Generation::default()
    };
    let short = Generation {
        max_new_tokens: 3,
        min_new_tokens: 1,
        ..Generation::default()
    };
    let question = "how many people are there?";
    let (mut tower, mut caption, mut answer) = (Vec::new(), Vec::new(), Vec::new());
    let runs = std::env::var("SHOEBOX_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5usize);
    for run in 0..=runs {
        let (t, c, a) = match &model {
            ImageToText::Blip(blip) => {
                let pixels = blip.pixel_tensor(&image)?.unsqueeze(0)?;
                let t = timed(|| Ok(blip.image_tokens(&pixels)?))?;
                let c = if blip.answers_questions() {
                    f64::NAN
                } else {
                    timed(|| Ok(blip.generate(&pixels, "", forced)?))?
                };
                let a = if blip.answers_questions() {
                    timed(|| Ok(blip.generate_answer(&pixels, question, short)?))?
                } else {
                    f64::NAN
                };
                (t, c, a)
            }
            ImageToText::PaliGemma(pg) => {
                let pixels = pg.pixel_tensor(&image)?.unsqueeze(0)?;
                let t = timed(|| Ok(pg.image_tokens(&pixels)?))?;
                let c = timed(|| Ok(pg.generate(&pixels, "caption en", forced)?))?;
                let a =
                    timed(|| Ok(pg.generate(&pixels, &format!("answer en {question}"), short)?))?;
                (t, c, a)
            }
        };
        // The first run warms up.
        if run > 0 {
            tower.push(t);
            caption.push(c);
            answer.push(a);
        }
    }
    let (tower, caption, answer) = (
        median(&mut tower),
        median(&mut caption),
        median(&mut answer),
    );
    let fmt = |v: f64| {
        if v.is_nan() {
            "–".to_owned()
        } else {
            format!("{v:.2}")
        }
    };
    println!(
        "| {name} | {} | {load_s:.1} | {loaded_mib:.0} | {tower:.2} | {} | {} | {} | {:.0} |",
        serde_json::to_value(effective)?.as_str().unwrap_or("?"),
        fmt(caption),
        if caption.is_nan() {
            "–".to_owned()
        } else {
            format!("{:.1}", TOKENS as f64 / (caption - tower).max(1e-9))
        },
        fmt(answer),
        rss_mib("VmHWM:")
    );
    Ok(())
}

/// Seconds `f` takes.
fn timed<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<f64> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
