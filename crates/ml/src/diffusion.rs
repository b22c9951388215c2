//! Stable Diffusion img2img ("more like this"): a photo is encoded by the VAE into latents,
//! noised part-way by the seed's noise, denoised by the UNet under a prompt (with
//! classifier-free guidance against a negative prompt where asked) with the Euler sampler, and
//! decoded. Checkpoints are in the diffusers layout (`text_encoder/`, `tokenizer/`, `unet/`,
//! `vae/`, `scheduler/`): SD-Turbo (the default: 1–4 steps, no guidance), SD 1.5 and SD 2.1.
//! The UNet and the VAE's blocks are candle-transformers'; the text encoder is our CLIP text
//! model; the sampler and the img2img pipeline are ours. Parity with diffusers is tested
//! against fixtures made by `tests/fixtures/gen_sd.py`.

mod config;
mod euler;
mod vae;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::stable_diffusion::unet_2d::UNet2DConditionModel;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use shoebox_core::Pixels;

use self::config::{SchedulerFile, TokenizerFile, UNetFile, VaeFile};
use self::euler::Euler;
use self::vae::Vae;
use crate::checkpoint::{Checkpoint, LazyTensors};
use crate::clip::{HfText, TextModel};
use crate::resample::{Filter, resize_rgb};
use crate::tokenize::TextTokenizer;
use crate::{Error, Result};

/// CLIP's context: prompts are padded or cut to this many tokens.
const CONTEXT: usize = 77;

/// One img2img request.
#[derive(Debug, Clone, PartialEq)]
pub struct Variation {
    /// What the result should show (a photo's caption, edited).
    pub prompt: String,
    /// What it should not (used with guidance above 1).
    pub negative_prompt: String,
    /// How far from the photo: 0 keeps it, 1 ignores it.
    pub strength: f64,
    /// Sampler steps over the whole schedule; `⌊steps × strength⌋` of them run.
    pub steps: usize,
    /// Classifier-free guidance scale; 1 or less runs the prompt alone (SD-Turbo: 0).
    pub guidance: f64,
    /// The noise's seed: the same seed, photo and settings give the same image.
    pub seed: u64,
    /// Output width in pixels (a multiple of 64).
    pub width: u32,
    /// Output height in pixels (a multiple of 64).
    pub height: u32,
}

impl Variation {
    /// Refuses what no checkpoint can do: sides that are not multiples of 64, a strength
    /// outside 0 to 1, a negative guidance, no step to run (`⌊steps × strength⌋` = 0).
    pub fn check(&self) -> Result<()> {
        let v = self;
        if v.width == 0
            || v.height == 0
            || !v.width.is_multiple_of(64)
            || !v.height.is_multiple_of(64)
        {
            return Err(Error::Variation(format!(
                "an output of {}×{}: each side must be a non-zero multiple of 64",
                v.width, v.height
            )));
        }
        if !(0.0..=1.0).contains(&v.strength) || !v.guidance.is_finite() || v.guidance < 0.0 {
            return Err(Error::Variation(format!(
                "strength {} (0 to 1) with guidance {} (0 or more)",
                v.strength, v.guidance
            )));
        }
        if (v.steps as f64 * v.strength) < 1.0 {
            return Err(Error::Variation(format!(
                "{} steps at strength {} leave no step to run: raise either",
                v.steps, v.strength
            )));
        }
        Ok(())
    }
}

/// A Stable Diffusion checkpoint, loaded.
#[derive(Debug)]
pub struct StableDiffusion {
    text: TextModel,
    tokenizer: TextTokenizer,
    pad: u32,
    unet: UNet2DConditionModel,
    vae: Vae,
    euler: Euler,
    factor: usize,
    model_id: String,
    device: Device,
}

impl StableDiffusion {
    /// Loads the checkpoint in `dir` (diffusers layout) under the id `model_id`. Each part's
    /// weights are `*.safetensors` or, failing that, the `*.fp16.safetensors` variant.
    pub fn load(dir: &Path, model_id: impl Into<String>, device: &Device) -> Result<Self> {
        let checkpoint = Checkpoint::new(dir);
        let text_file: HfText = checkpoint.json("text_encoder/config.json")?;
        let text_config = text_file.parse()?;
        let unet_file: UNetFile = checkpoint.json("unet/config.json")?;
        let unet_config = unet_file.parse()?;
        let vae_file: VaeFile = checkpoint.json("vae/config.json")?;
        vae_file.check()?;
        let euler =
            Euler::new(checkpoint.json::<SchedulerFile>("scheduler/scheduler_config.json")?)?;
        if text_config.encoder.hidden != unet_config.cross_attention_dim {
            return Err(Error::Unsupported(format!(
                "the text encoder's width {} differs from the UNet's cross-attention width {}",
                text_config.encoder.hidden, unet_config.cross_attention_dim
            )));
        }
        let tokens = Checkpoint::new(&dir.join("tokenizer"));
        let tokenizer = TextTokenizer::load(&tokens, CONTEXT)?;
        let tokenizer_file: TokenizerFile = tokens.json("tokenizer_config.json")?;
        let pad = match tokenizer_file.pad() {
            Some(token) => tokenizer.token_id(token)?,
            None => text_config.eos_token_id,
        };

        let text = part(&checkpoint, "text_encoder", "model", device, |vb| {
            TextModel::load(&vb, &text_config)
        })?;
        let unet = part(
            &checkpoint,
            "unet",
            "diffusion_pytorch_model",
            device,
            |vb| {
                UNet2DConditionModel::new(
                    vb,
                    unet_file.in_channels,
                    unet_file.out_channels,
                    false,
                    unet_config.clone(),
                )
            },
        )?;
        let vae = part(
            &checkpoint,
            "vae",
            "diffusion_pytorch_model",
            device,
            |vb| Vae::load(&vb, &vae_file),
        )?;
        Ok(Self {
            text,
            tokenizer,
            pad,
            unet,
            vae,
            euler,
            factor: vae_file.factor(),
            model_id: model_id.into(),
            device: device.clone(),
        })
    }

    /// The id results are recorded under.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// A variation of `photo` (upright RGB): resized to cover the output size and cropped to
    /// its centre, then img2img. Calls `on_step(done, total)` after each sampler step; stops
    /// with [`Error::Cancelled`] before the next step once `cancel` is set.
    pub fn vary(
        &self,
        photo: &Pixels,
        v: &Variation,
        cancel: &AtomicBool,
        on_step: &mut dyn FnMut(usize, usize),
    ) -> Result<Pixels> {
        v.check()?;
        // Before any work: a schedule with no step is refused here.
        self.euler.img2img(v.steps, v.strength)?;
        let image = self.image_tensor(photo, v.width, v.height)?;
        let clean = self.encode_image(&image)?;
        let noise = self.noise(clean.dims(), v.seed)?;
        let latents = self.denoise(&clean, &noise, v, cancel, on_step)?;
        pixels(&self.vae.decode(&latents)?)
    }

    /// img2img in latent space: `clean` latents noised by `noise` to the request's strength,
    /// then denoised step by step under its prompt; returns the final latents.
    pub fn denoise(
        &self,
        clean: &Tensor,
        noise: &Tensor,
        v: &Variation,
        cancel: &AtomicBool,
        on_step: &mut dyn FnMut(usize, usize),
    ) -> Result<Tensor> {
        let schedule = self.euler.img2img(v.steps, v.strength)?;
        let cond = self.embed_prompt(&v.prompt)?;
        let guided = v.guidance > 1.0;
        let context = if guided {
            Tensor::cat(&[&self.embed_prompt(&v.negative_prompt)?, &cond], 0)?
        } else {
            cond
        };
        let mut latents = schedule.noised(clean, noise)?;
        let total = schedule.timesteps.len();
        for (i, &t) in schedule.timesteps.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let input = schedule.scaled(&latents, i)?;
            let predicted = self.predict(&input, t, &context, guided.then_some(v.guidance))?;
            latents = schedule.step(&predicted, i, &latents)?;
            on_step(i + 1, total);
        }
        Ok(latents)
    }

    /// `photo` resized (bicubic, as PIL) to cover `width`×`height`, centre-cropped to it, as
    /// `[1, 3, height, width]` in `[-1, 1]`.
    pub fn image_tensor(&self, photo: &Pixels, width: u32, height: u32) -> Result<Tensor> {
        let (w, h) = (photo.width as usize, photo.height as usize);
        let (tw, th) = (width as usize, height as usize);
        if w == 0 || h == 0 || photo.rgb.len() != w * h * 3 {
            return Err(Error::Image(format!(
                "a {w}×{h} image with {} bytes",
                photo.rgb.len()
            )));
        }
        let scale = (tw as f64 / w as f64).max(th as f64 / h as f64);
        // Python's round (ties to even), as the reference computes the size.
        let rw = ((w as f64 * scale).round_ties_even() as usize).max(tw);
        let rh = ((h as f64 * scale).round_ties_even() as usize).max(th);
        let resized = resize_rgb(&photo.rgb, (w, h), (rw, rh), Filter::Bicubic);
        let (left, top) = ((rw - tw) / 2, (rh - th) / 2);
        let mut crop = Vec::with_capacity(tw * th * 3);
        for y in top..top + th {
            crop.extend_from_slice(&resized[(y * rw + left) * 3..(y * rw + left + tw) * 3]);
        }
        let hwc = Tensor::from_vec(crop, (th, tw, 3), &self.device)?;
        Ok(((hwc.permute((2, 0, 1))?.to_dtype(DType::F32)? / 127.5)? - 1.0)?.unsqueeze(0)?)
    }

    /// Images `[B, 3, H, W]` in `[-1, 1]` → scaled latents (the VAE posterior's mode).
    pub fn encode_image(&self, image: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) = image.dims4()?;
        if !h.is_multiple_of(self.factor) || !w.is_multiple_of(self.factor) {
            return Err(Error::Image(format!(
                "{w}×{h} does not divide into latents of {} pixels",
                self.factor
            )));
        }
        Ok(self.vae.encode(image)?)
    }

    /// Latents → images `[B, 3, H, W]` in `[0, 1]`.
    pub fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        Ok(self.vae.decode(latents)?)
    }

    /// A prompt's token ids, padded with the checkpoint's padding token to 77.
    pub fn prompt_ids(&self, prompt: &str) -> Result<Vec<u32>> {
        let mut ids = self.tokenizer.ids(prompt)?;
        ids.resize(CONTEXT, self.pad);
        Ok(ids)
    }

    /// A prompt's conditioning: every position of the text encoder's output, `[1, 77, D]`.
    pub fn embed_prompt(&self, prompt: &str) -> Result<Tensor> {
        let ids = Tensor::new(self.prompt_ids(prompt)?, &self.device)?.unsqueeze(0)?;
        Ok(self.text.states(&ids)?)
    }

    /// The UNet's prediction for `latents` (already scaled for the step) at timestep `t`. With
    /// `guidance`, `context` holds the negative prompt's then the prompt's conditioning and
    /// the result is `uncond + guidance × (cond − uncond)`.
    pub fn predict(
        &self,
        latents: &Tensor,
        t: f64,
        context: &Tensor,
        guidance: Option<f64>,
    ) -> Result<Tensor> {
        let Some(scale) = guidance else {
            return Ok(self.unet.forward(latents, t, context)?);
        };
        let both = self
            .unet
            .forward(&Tensor::cat(&[latents, latents], 0)?, t, context)?;
        let (uncond, cond) = (both.narrow(0, 0, 1)?, both.narrow(0, 1, 1)?);
        Ok((&uncond + ((cond - &uncond)? * scale)?)?)
    }

    /// Standard normal noise of `shape` from `seed` (ChaCha8: the same on every platform).
    pub fn noise(&self, shape: &[usize], seed: u64) -> Result<Tensor> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        Ok(Tensor::from_vec(values, shape, &self.device)?)
    }

    /// A run's timesteps and noise levels, for tests and progress.
    pub fn schedule(&self, steps: usize, strength: f64) -> Result<(Vec<f64>, Vec<f64>)> {
        let s = self.euler.img2img(steps, strength)?;
        Ok((s.timesteps, s.sigmas))
    }
}

/// Loads the part in `folder` (`{stem}.safetensors`, else `{stem}.fp16.safetensors`) with
/// `load`, naming the weights file when they do not fit.
fn part<T>(
    checkpoint: &Checkpoint,
    folder: &str,
    stem: &str,
    device: &Device,
    load: impl FnOnce(VarBuilder<'static>) -> candle_core::Result<T>,
) -> Result<T> {
    let full = format!("{folder}/{stem}.safetensors");
    let half = format!("{folder}/{stem}.fp16.safetensors");
    let (tensors, path): (LazyTensors, PathBuf) = match checkpoint.lazy(&full) {
        Err(Error::MissingFile { .. }) => checkpoint.lazy(&half)?,
        other => other?,
    };
    let vb = VarBuilder::from_backend(Box::new(tensors), DType::F32, device.clone());
    load(vb).map_err(|e| Error::WeightsMismatch {
        path,
        reason: e.to_string(),
    })
}

/// `[1, 3, H, W]` in `[0, 1]` → 8-bit RGB.
fn pixels(image: &Tensor) -> Result<Pixels> {
    let (_, _, h, w) = image.dims4()?;
    let rgb: Vec<u8> = (image.squeeze(0)?.permute((1, 2, 0))? * 255.0)?
        .round()?
        .flatten_all()?
        .to_dtype(DType::U8)?
        .to_vec1()?;
    Ok(Pixels {
        width: u32::try_from(w).map_err(|e| Error::Image(e.to_string()))?,
        height: u32::try_from(h).map_err(|e| Error::Image(e.to_string()))?,
        rgb,
    })
}
