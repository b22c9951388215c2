//! [`PaliGemma`]: Google's PaLI-family model (Beyer et al. 2024,
//! <https://arxiv.org/abs/2407.07726>) from checkpoints in the Hugging Face
//! `PaliGemmaForConditionalGeneration` layout (e.g. `google/paligemma-3b-mix-224`): a SigLIP
//! image tower (no head; every patch's state), a linear projector, and Gemma. Captions
//! (`caption {lang}`) and answers (`answer {lang} {question}`) in many languages.
//!
//! Our own wrapper rather than candle-transformers' `paligemma`, which L2-normalises the image
//! features where transformers divides them by √width (different logits), and cannot read hub
//! configs. Parity with transformers is tested against `tests/fixtures/gen_paligemma.py`.

mod config;
mod gemma;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use shoebox_core::Pixels;

use self::config::HfPaliGemmaConfig;
use self::gemma::Gemma;
use crate::checkpoint::Checkpoint;
use crate::generate::{Chooser, Generated, Generation};
use crate::kernels::sgemm::Precision;
use crate::nn::Linear;
use crate::preprocess::Preprocessor;
use crate::siglip::VisionTower;
use crate::tokenize::TextTokenizer;
use crate::{Error, Result};

/// A loaded PaliGemma.
#[derive(Debug)]
pub struct PaliGemma {
    vision: VisionTower,
    projector: Linear,
    gemma: Gemma,
    preprocess: Preprocessor,
    tokenizer: TextTokenizer,
    /// The projector's output is divided by √(top-level `hidden_size`) and all embeddings are
    /// multiplied by √(text width): the factors applied to image and text embeddings.
    image_scale: f64,
    text_scale: f64,
    eos: u32,
    model_id: String,
    device: Device,
}

impl PaliGemma {
    /// Loads the checkpoint in `dir` under the id `model_id`.
    pub fn load(dir: &Path, model_id: impl Into<String>, device: &Device) -> Result<Self> {
        let checkpoint = Checkpoint::new(dir);
        let config: HfPaliGemmaConfig = checkpoint.json("config.json")?;
        let preprocess = Preprocessor::load(&checkpoint)?;
        let text = &config.text_config;
        let tokenizer = TextTokenizer::load(&checkpoint, text.max_position_embeddings)?;
        let vision_config = config.vision_config.parse()?;
        let (vb, weights) = checkpoint.weights(DType::F32, device)?;
        let mismatch = |e: candle_core::Error| Error::WeightsMismatch {
            path: weights.clone(),
            reason: e.to_string(),
        };
        let vision_width = vision_config.encoder.hidden;
        let text_scale = (text.hidden_size as f64).sqrt();
        Ok(Self {
            vision: VisionTower::load(&vb.pp("vision_tower"), &vision_config).map_err(mismatch)?,
            projector: Linear::load(
                &vb.pp("multi_modal_projector.linear"),
                vision_width,
                config.projection_dim,
                true,
            )
            .map_err(mismatch)?,
            gemma: Gemma::load(&vb.pp("language_model.model"), text).map_err(mismatch)?,
            preprocess,
            tokenizer,
            image_scale: text_scale / (config.hidden_size as f64).sqrt(),
            text_scale,
            eos: config.eos_token_id,
            model_id: model_id.into(),
            device: device.clone(),
        })
    }

    /// Has the matrix products run in `precision` where this device and CPU allow it (see
    /// [`Precision`]); returns the precision now in effect.
    pub fn set_precision(&mut self, precision: Precision) -> Result<Precision> {
        let effective = precision.effective(&self.device);
        self.vision.set_precision(effective)?;
        self.projector.set_precision(effective)?;
        self.gemma.set_precision(effective)?;
        Ok(effective)
    }

    /// The id outputs are stored under.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The preprocessed input for one image, `[3, H, W]`.
    pub fn pixel_tensor(&self, image: &Pixels) -> Result<Tensor> {
        self.preprocess.tensor(image, &self.device)
    }

    /// The image tower's output, projected, for a preprocessed batch, `[B, tokens, width]`.
    pub fn image_tokens(&self, pixels: &Tensor) -> Result<Tensor> {
        Ok(self.projector.forward(&self.vision.tokens(pixels)?)?)
    }

    /// The ids that follow the image tokens for `prompt`: `<bos>`, the prompt, a newline (as
    /// the reference processor builds them).
    pub fn prompt_ids(&self, prompt: &str) -> Result<Vec<u32>> {
        self.tokenizer.plain_ids(&format!("<bos>{prompt}\n"))
    }

    /// A caption of `image` in `lang` (`caption {lang}`).
    pub fn caption(&self, image: &Pixels, lang: &str) -> Result<String> {
        self.run(image, &format!("caption {lang}"))
    }

    /// The answer to `question` about `image` in `lang` (`answer {lang} {question}`).
    pub fn answer(&self, image: &Pixels, question: &str, lang: &str) -> Result<String> {
        if question.trim().is_empty() {
            return Err(Error::Question("it is empty".to_owned()));
        }
        self.run(image, &format!("answer {lang} {}", question.trim()))
    }

    fn run(&self, image: &Pixels, prompt: &str) -> Result<String> {
        let pixels = self.pixel_tensor(image)?.unsqueeze(0)?;
        Ok(self.generate(&pixels, prompt, Generation::default())?.text)
    }

    /// Greedy decoding from `pixels` (`[1, 3, H, W]`) after `prompt`, as transformers'
    /// `generate(do_sample=False)`: the image tokens and the prompt attend to each other, each
    /// new token to all before it; decoding stops at the end token. `ids` are the new tokens.
    pub fn generate(&self, pixels: &Tensor, prompt: &str, g: Generation) -> Result<Generated> {
        let image = self.image_tokens(pixels)?;
        let prompt_ids = self.prompt_ids(prompt)?;
        let total = image.dim(1)? + prompt_ids.len() + g.max_new_tokens;
        if total > self.gemma.max_len() {
            return Err(Error::Question(format!(
                "{total} tokens with the image: the model takes {}",
                self.gemma.max_len()
            )));
        }
        let prefix = Tensor::cat(
            &[
                (image * self.image_scale)?,
                (self.gemma.embed(&prompt_ids)? * self.text_scale)?,
            ],
            1,
        )?;
        let mut cache = self.gemma.cache();
        let mut chooser = Chooser::new(g, self.eos);
        let mut embeds = prefix;
        let (mut ids, mut logits) = (Vec::new(), Vec::new());
        for step in 0..g.max_new_tokens {
            let mut row = self.gemma.forward(&embeds, &mut cache)?.to_vec1::<f32>()?;
            logits.push(row.clone());
            let token = chooser.choose(step, &mut row);
            ids.push(token);
            if token == self.eos {
                break;
            }
            embeds = (self.gemma.embed(&[token])? * self.text_scale)?;
        }
        Ok(Generated {
            text: self.tokenizer.decode(&ids)?,
            ids,
            logits,
        })
    }
}
