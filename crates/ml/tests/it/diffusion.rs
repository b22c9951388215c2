//! Stable Diffusion img2img against diffusers on the tiny checkpoint
//! (`tests/fixtures/gen_sd.py`): the photo's tensor, the VAE's latents, the prompt's ids and
//! embeddings, the schedule, the first step's guided noise prediction, the run's final latents
//! and the decoded image; then what the product promises around it: a seed decides the image,
//! a run can be cancelled, bad requests are refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{DType, Device, Tensor};
use serde::Deserialize;
use shoebox_ml::{Error, StableDiffusion, Variation};

use crate::{max_abs_diff, photo};

#[derive(Deserialize)]
struct Reference {
    photo: String,
    size: u32,
    prompt: String,
    negative_prompt: String,
    steps: usize,
    strength: f64,
    guidance: f64,
    timesteps: Vec<f64>,
    sigmas: Vec<f64>,
}

fn sd_tiny() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sd-tiny")
}

fn fixture() -> anyhow::Result<(StableDiffusion, Reference, HashMap<String, Tensor>)> {
    let dir = sd_tiny();
    let sd = StableDiffusion::load(&dir, "sd-tiny", &Device::Cpu)?;
    let reference = serde_json::from_str(&fs_err::read_to_string(dir.join("reference.json"))?)?;
    let tensors = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu)?;
    Ok((sd, reference, tensors))
}

fn tensor(tensors: &HashMap<String, Tensor>, name: &str) -> anyhow::Result<Tensor> {
    Ok(tensors
        .get(name)
        .ok_or_else(|| anyhow::anyhow!("no {name} in reference"))?
        .to_dtype(DType::F32)?)
}

/// Peak signal-to-noise ratio of two images in `[0, 1]`, in dB.
fn psnr(a: &Tensor, b: &Tensor) -> anyhow::Result<f64> {
    let mse = (a - b)?.sqr()?.mean_all()?.to_scalar::<f32>()?;
    Ok(10.0 * (1.0 / f64::from(mse)).log10())
}

fn variation(r: &Reference, seed: u64) -> Variation {
    Variation {
        prompt: r.prompt.clone(),
        negative_prompt: r.negative_prompt.clone(),
        strength: r.strength,
        steps: r.steps,
        guidance: r.guidance,
        seed,
        width: r.size,
        height: r.size,
    }
}

#[test]
fn img2img_matches_diffusers() -> anyhow::Result<()> {
    let (sd, r, t) = fixture()?;

    // The photo, covered and cropped as the reference does: within a few 8-bit levels
    // (a level is 2/255 here), as two JPEG decoders differ by a level or two.
    let image = sd.image_tensor(&photo(&r.photo)?, r.size, r.size)?;
    let reference_image = tensor(&t, "image")?;
    let d = max_abs_diff(&image, &reference_image)?;
    let mean = (&image - &reference_image)?
        .abs()?
        .mean_all()?
        .to_scalar::<f32>()?;
    assert!(
        d <= 4.0 * 2.0 / 255.0 && mean <= 2.0 / 255.0,
        "photo tensor differs by {d} (mean {mean})"
    );

    // The VAE's latents, from the reference's own tensor.
    let clean = sd.encode_image(&reference_image)?;
    let d = max_abs_diff(&clean, &tensor(&t, "init_latents")?)?;
    assert!(d <= 1e-4, "latents differ by {d}");

    // The prompts' ids (padded with "!") and embeddings.
    let ids: Vec<u32> = t["ids"].to_dtype(DType::U32)?.flatten_all()?.to_vec1()?;
    assert_eq!(sd.prompt_ids(&r.prompt)?, ids);
    let cond = sd.embed_prompt(&r.prompt)?;
    let d = max_abs_diff(&cond, &tensor(&t, "cond")?)?;
    assert!(d <= 1e-4, "prompt embedding differs by {d}");
    let uncond = sd.embed_prompt(&r.negative_prompt)?;
    let d = max_abs_diff(&uncond, &tensor(&t, "uncond")?)?;
    assert!(d <= 1e-4, "negative prompt embedding differs by {d}");

    // The schedule: the last 2 of 4 timesteps, and their noise levels.
    let (timesteps, sigmas) = sd.schedule(r.steps, r.strength)?;
    assert_eq!(timesteps, r.timesteps);
    let expected = &r.sigmas[r.sigmas.len() - sigmas.len()..];
    for (ours, theirs) in sigmas.iter().zip(expected) {
        assert!(
            (ours - theirs).abs() <= 1e-5 * theirs.max(1.0),
            "{sigmas:?} vs {expected:?}"
        );
    }

    // The first step's guided noise prediction, from the reference's noised latents.
    let noised = tensor(&t, "noised")?;
    let scaled = (&noised / (sigmas[0] * sigmas[0] + 1.0).sqrt())?;
    let context = Tensor::cat(&[&uncond, &cond], 0)?;
    let predicted = sd.predict(&scaled, timesteps[0], &context, Some(r.guidance))?;
    let d = max_abs_diff(&predicted, &tensor(&t, "noise_pred")?)?;
    assert!(d <= 1e-3, "noise prediction differs by {d}");
    eprintln!("noise prediction: max abs difference {d:e}");

    // The whole run from the reference's latents and noise, and the decoded image.
    let v = variation(&r, 0);
    let never = AtomicBool::new(false);
    let noise = tensor(&t, "noise")?;
    let mut steps = Vec::new();
    let last = sd.denoise(&clean, &noise, &v, &never, &mut |done, total| {
        steps.push((done, total));
    })?;
    assert_eq!(steps, [(1, 2), (2, 2)]);
    let d = max_abs_diff(&last, &tensor(&t, "final")?)?;
    assert!(d <= 1e-3, "final latents differ by {d}");
    let decoded = sd.decode(&last)?;
    let db = psnr(&decoded, &tensor(&t, "decoded")?)?;
    assert!(db >= 40.0, "decoded image PSNR {db:.1} dB");
    eprintln!("final latents: max abs difference {d:e}; decoded image: PSNR {db:.1} dB");
    Ok(())
}

#[test]
fn a_seed_decides_the_image() -> anyhow::Result<()> {
    let (sd, r, _) = fixture()?;
    let cat = photo("cat.jpg")?;
    let never = AtomicBool::new(false);
    let run = |seed| sd.vary(&cat, &variation(&r, seed), &never, &mut |_, _| {});
    let (first, again, other) = (run(7)?, run(7)?, run(8)?);
    assert_eq!((first.width, first.height), (r.size, r.size));
    assert_eq!(first.rgb, again.rgb, "the same seed gave another image");
    assert_ne!(first.rgb, other.rgb, "another seed gave the same image");
    Ok(())
}

#[test]
fn a_run_stops_when_cancelled() -> anyhow::Result<()> {
    let (sd, r, _) = fixture()?;
    let cat = photo("cat.jpg")?;
    let cancel = AtomicBool::new(false);
    let mut steps = 0;
    let result = sd.vary(&cat, &variation(&r, 1), &cancel, &mut |_, _| {
        steps += 1;
        cancel.store(true, Ordering::Relaxed);
    });
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(steps, 1, "the run went on after the cancel");
    Ok(())
}

#[test]
fn bad_requests_are_refused_before_any_work() -> anyhow::Result<()> {
    let (sd, r, _) = fixture()?;
    let cat = photo("cat.jpg")?;
    let never = AtomicBool::new(false);
    let bad = [
        Variation {
            width: 100,
            ..variation(&r, 0)
        },
        Variation {
            height: 0,
            ..variation(&r, 0)
        },
        Variation {
            strength: 1.5,
            ..variation(&r, 0)
        },
        Variation {
            guidance: f64::NAN,
            ..variation(&r, 0)
        },
        // 4 steps at strength 0.1 run none.
        Variation {
            strength: 0.1,
            ..variation(&r, 0)
        },
        Variation {
            steps: 0,
            ..variation(&r, 0)
        },
    ];
    for v in bad {
        let mut steps = 0;
        let result = sd.vary(&cat, &v, &never, &mut |_, _| steps += 1);
        assert!(
            matches!(result, Err(Error::Variation(_))),
            "{v:?}: {result:?}"
        );
        assert_eq!(steps, 0);
    }
    let empty = shoebox_core::Pixels {
        width: 0,
        height: 0,
        rgb: Vec::new(),
    };
    assert!(matches!(
        sd.vary(&empty, &variation(&r, 0), &never, &mut |_, _| {}),
        Err(Error::Image(_))
    ));
    Ok(())
}

#[test]
fn a_missing_part_is_named() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    shoebox_testkit::copy_dir(&sd_tiny(), dir.path())?;
    fs_err::remove_file(dir.path().join("unet/diffusion_pytorch_model.safetensors"))?;
    let e = StableDiffusion::load(dir.path(), "broken", &Device::Cpu)
        .err()
        .ok_or_else(|| anyhow::anyhow!("loaded without its UNet weights"))?;
    assert!(
        e.to_string()
            .contains("unet/diffusion_pytorch_model.fp16.safetensors"),
        "{e}"
    );
    Ok(())
}
