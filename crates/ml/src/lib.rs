//! Shoebox's models in candle, loaded from checkpoint directories in the Hugging Face layout
//! (`config.json`, `model.safetensors`, `tokenizer.json`, `preprocessor_config.json`).
//!
//! Today: CLIP ([Radford et al. 2021](https://arxiv.org/abs/2103.00020); checkpoints such as
//! [openai/clip-vit-base-patch32](https://huggingface.co/openai/clip-vit-base-patch32)) and
//! SigLIP — image and text towers on candle (our own, with packed CPU matrix products in f32,
//! or bf16 where the CPU has AVX-512 BF16: [`Precision`]) — and MobileCLIP (FastViT image tower,
//! OpenCLIP text tower) for low-end CPUs; preprocessing that follows the checkpoint's
//! `preprocessor_config.json` (or open_clip's config), and the checkpoint's own tokenizer.
//! Outputs are L2-normalised [`shoebox_core::Embedding`]s; [`ZeroShot`] classifies with prompt
//! ensembles. BLIP and PaliGemma caption photos and answer questions about them;
//! [`StableDiffusion`] makes img2img variations of a photo (diffusers layout: SD-Turbo, SD 1.5,
//! SD 2.1). Parity with the reference implementations is tested against fixtures made by
//! `tests/fixtures/gen_clip.py`, `gen_siglip.py`, `gen_mobileclip.py`, `gen_blip.py`,
//! `gen_paligemma.py` and `gen_sd.py`.

mod blip;
mod catalog;
mod checkpoint;
mod clip;
mod device;
mod diffusion;
mod download;
mod error;
mod generate;
mod image_to_text;
mod kernels;
mod mobileclip;
mod nn;
mod paligemma;
mod preprocess;
mod resample;
mod siglip;
mod tokenize;
mod zero_shot;

pub use blip::Blip;
pub use candle_core::Device;
pub use catalog::{Catalog, Family, FileSpec, ModelSpec};
pub use clip::Clip;
pub use device::device;
pub use diffusion::{StableDiffusion, Variation};
pub use download::{DownloadProgress, FileState, Hub, pull, verify};
pub use error::{Error, Result};
pub use generate::{Generated, Generation, Sampling};
pub use image_to_text::ImageToText;
pub use kernels::sgemm::Precision;
pub use paligemma::PaliGemma;
pub use zero_shot::{Prediction, ZeroShot, imagenet_templates};
