//! "More like this" speed on CPU, full size with random weights (same FLOPs as the real
//! checkpoints): seconds per 512×512 img2img variation — SD-Turbo at 1, 2 and 4 steps (no
//! guidance), SD 1.5 at 20 steps (guidance 7.5: two UNet passes a step) — with strength 1 so
//! that every step runs, plus load time and each row's peak resident memory.
//!
//! How to run:
//!
//! ```sh
//! python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r tests/fixtures/requirements.txt
//! /tmp/venv/bin/python tests/fixtures/gen_sd.py --full-size turbo /tmp/sd-turbo   # 5.2 GB
//! /tmp/venv/bin/python tests/fixtures/gen_sd.py --full-size v1-5 /tmp/sd-15       # 4.3 GB
//! SHOEBOX_BENCH_SD_TURBO=/tmp/sd-turbo SHOEBOX_BENCH_SD15=/tmp/sd-15 \
//!     cargo bench -p shoebox-ml --bench vary
//! ```
//!
//! Each variable is optional; each row runs in its own process (one warm-up-free run: a
//! variation takes seconds to minutes), so its peak memory is its own.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use candle_core::Device;
use shoebox_ml::{StableDiffusion, Variation};
use shoebox_testkit::rss_mib;

/// The allocator of the `shoebox` binary, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The variable a child process reads its row from.
const ROW: &str = "SHOEBOX_BENCH_ROW";

fn main() -> anyhow::Result<()> {
    if let Ok(spec) = std::env::var(ROW) {
        let mut parts = spec.splitn(4, '|');
        let (Some(name), Some(steps), Some(guidance), Some(dir)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("{ROW}: expected NAME|STEPS|GUIDANCE|DIR, got {spec:?}");
        };
        return row(name, steps.parse()?, guidance.parse()?, Path::new(dir));
    }
    println!();
    println!(
        "| model, CPU ({} cores), 512×512 | steps | guidance | load s | seconds per variation | s per step | peak RSS MiB |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut any = false;
    for (var, name, rows) in [
        (
            "SHOEBOX_BENCH_SD_TURBO",
            "SD-Turbo",
            &[(1, 0.0), (2, 0.0), (4, 0.0)][..],
        ),
        ("SHOEBOX_BENCH_SD15", "SD 1.5", &[(20, 7.5)][..]),
    ] {
        let Some(dir) = std::env::var_os(var) else {
            continue;
        };
        any = true;
        for (steps, guidance) in rows {
            let status = std::process::Command::new(std::env::current_exe()?)
                .env(
                    ROW,
                    format!("{name}|{steps}|{guidance}|{}", dir.to_string_lossy()),
                )
                .status()?;
            anyhow::ensure!(status.success(), "{name} at {steps} steps: {status}");
        }
    }
    anyhow::ensure!(
        any,
        "set SHOEBOX_BENCH_SD_TURBO and / or SHOEBOX_BENCH_SD15 to full-size checkpoints: see the header"
    );
    Ok(())
}

/// Loads the model and makes one variation of a 640×480 photo at 512×512.
fn row(name: &str, steps: usize, guidance: f64, dir: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let model = StableDiffusion::load(dir, "random", &Device::Cpu)?;
    let load_s = started.elapsed().as_secs_f64();
    let (width, height) = (640u32, 480u32);
    let rgb = (0..width * height * 3)
        .map(|i| u8::try_from((i * 7 + i / 1920) % 256).unwrap_or(0))
        .collect();
    let photo = shoebox_core::Pixels { width, height, rgb };
    let variation = Variation {
        prompt: "a photo of a dog on a beach at sunset".to_owned(),
        negative_prompt: String::new(),
        strength: 1.0,
        steps,
        guidance,
        seed: 1,
        width: 512,
        height: 512,
    };
    let started = Instant::now();
    model.vary(&photo, &variation, &AtomicBool::new(false), &mut |_, _| {})?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "| {name} | {steps} | {guidance} | {load_s:.1} | {seconds:.1} | {:.2} | {:.0} |",
        seconds / steps as f64,
        rss_mib("VmHWM:")
    );
    Ok(())
}
