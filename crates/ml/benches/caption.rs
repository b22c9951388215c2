//! Captioning speed on CPU: seconds per 20-token caption of full-size BLIP-base (random
//! weights, same FLOPs as Salesforce/blip-image-captioning-base), split into the image tower and
//! the decoder (tokens/s), with the peak resident memory.
//!
//! How to run:
//!
//! ```sh
//! python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r tests/fixtures/requirements.txt
//! /tmp/venv/bin/python tests/fixtures/gen_blip.py --full-size /tmp/blip-base
//! SHOEBOX_BENCH_BLIP=/tmp/blip-base cargo bench -p shoebox-ml --bench caption
//! ```

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use candle_core::{Device, Tensor};
use shoebox_core::Pixels;
use shoebox_ml::{Blip, Generation};

/// The allocator of the `shoebox` binary, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKENS: usize = 20;
const RUNS: usize = 5;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::var_os("SHOEBOX_BENCH_BLIP").context(
        "set SHOEBOX_BENCH_BLIP to a full-size checkpoint made by tests/fixtures/gen_blip.py --full-size DIR",
    )?);
    let started = Instant::now();
    let blip = Blip::load(&dir, "blip-base-random", &Device::Cpu)?;
    let load_s = started.elapsed().as_secs_f64();
    let (width, height) = (640u32, 480u32);
    let rgb = (0..width * height * 3)
        .map(|i| u8::try_from((i * 7 + i / 1920) % 256).unwrap_or(0))
        .collect();
    let pixels = blip
        .pixel_tensor(&Pixels { width, height, rgb })?
        .unsqueeze(0)?;
    let generation = Generation {
        max_new_tokens: TOKENS,
        min_new_tokens: TOKENS,
    };
    // Warm up, then time the image tower alone and whole captions.
    blip.generate(&pixels, "", generation)?;
    let mut tower = Vec::new();
    let mut caption = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let tokens: Tensor = blip.image_tokens(&pixels)?;
        drop(tokens);
        tower.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let out = blip.generate(&pixels, "", generation)?;
        anyhow::ensure!(
            out.ids.len() == TOKENS + 1,
            "decoded {} tokens",
            out.ids.len()
        );
        caption.push(t.elapsed().as_secs_f64());
    }
    let (tower, caption) = (median(&mut tower), median(&mut caption));
    println!();
    println!(
        "| BLIP-base captioning, f32, CPU ({} cores) | value |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("|---|---:|");
    println!("| load, s | {load_s:.2} |");
    println!("| caption of {TOKENS} tokens, s | {caption:.2} |");
    println!("| image tower, s | {tower:.2} |");
    println!(
        "| decoder, tokens/s | {:.1} |",
        TOKENS as f64 / (caption - tower).max(1e-9)
    );
    println!("| peak RSS, MiB | {:.0} |", peak_rss_mib());
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The process's peak resident set (`VmHWM`), MiB.
fn peak_rss_mib() -> f64 {
    fs_err::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
