//! [`Blip`]: BLIP image captioning and question answering (Li et al. 2022,
//! <https://arxiv.org/abs/2201.12086>), the fast CPU path, from checkpoints in the Hugging Face
//! `BlipForConditionalGeneration` layout (e.g.
//! <https://huggingface.co/Salesforce/blip-image-captioning-base>) or
//! `BlipForQuestionAnswering` layout (e.g. <https://huggingface.co/Salesforce/blip-vqa-base>:
//! a question encoder over the image, whose output the decoder attends to).
//!
//! Our own towers on [`crate::nn`] rather than candle-transformers' `blip`, which cannot read
//! hub configs (no defaults), recomputes the image's cross-attention keys and values for every
//! generated token, and keeps its text model private (no question answering on top of it).
//! Parity with transformers is tested against fixtures made by `tests/fixtures/gen_blip.py`.

mod config;
mod text;
mod vision;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use shoebox_core::Pixels;

use self::config::HfBlipConfig;
use self::text::{Bert, TextDecoder};
use self::vision::VisionTower;
use crate::checkpoint::Checkpoint;
use crate::generate::{Chooser, Generated, Generation};
use crate::preprocess::Preprocessor;
use crate::tokenize::TextTokenizer;
use crate::{Error, Precision, Result};

/// A loaded BLIP captioner.
#[derive(Debug)]
pub struct Blip {
    vision: VisionTower,
    text: TextDecoder,
    /// The question encoder of answering checkpoints.
    questions: Option<Bert>,
    preprocess: Preprocessor,
    tokenizer: TextTokenizer,
    bos: u32,
    sep: u32,
    model_id: String,
    device: Device,
}

impl Blip {
    /// Loads the checkpoint in `dir` under the id `model_id`.
    pub fn load(dir: &Path, model_id: impl Into<String>, device: &Device) -> Result<Self> {
        let checkpoint = Checkpoint::new(dir);
        let config: HfBlipConfig = checkpoint.json("config.json")?;
        let preprocess = Preprocessor::load(&checkpoint)?;
        let tokenizer =
            TextTokenizer::load(&checkpoint, config.text_config.max_position_embeddings)?;
        let (vb, weights) = checkpoint.weights(DType::F32, device)?;
        let mismatch = |e: candle_core::Error| Error::WeightsMismatch {
            path: weights.clone(),
            reason: e.to_string(),
        };
        let encoder = config.vision_config.encoder()?;
        Ok(Self {
            vision: VisionTower::load(&vb, &config.vision_config, &encoder).map_err(mismatch)?,
            text: TextDecoder::load(&vb, &config.text_config).map_err(mismatch)?,
            questions: if vb.contains_tensor("text_encoder.embeddings.word_embeddings.weight") {
                Some(Bert::load(&vb.pp("text_encoder"), &config.text_config).map_err(mismatch)?)
            } else {
                None
            },
            preprocess,
            tokenizer,
            bos: config.text_config.bos_token_id,
            sep: config.text_config.sep_token_id,
            model_id: model_id.into(),
            device: device.clone(),
        })
    }

    /// Has the matrix products run in `precision` where this device and CPU allow it (see
    /// [`Precision`]); returns the precision now in effect.
    pub fn set_precision(&mut self, precision: Precision) -> Result<Precision> {
        let effective = precision.effective(&self.device);
        self.vision.set_precision(effective)?;
        self.text.set_precision(effective)?;
        if let Some(questions) = &mut self.questions {
            questions.set_precision(effective)?;
        }
        Ok(effective)
    }

    /// The id captions are stored under.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The preprocessed input for one image, `[3, H, W]`.
    pub fn pixel_tensor(&self, image: &Pixels) -> Result<Tensor> {
        self.preprocess.tensor(image, &self.device)
    }

    /// The image tower's output for a preprocessed batch, `[B, tokens, D]`.
    pub fn image_tokens(&self, pixels: &Tensor) -> Result<Tensor> {
        Ok(self.vision.forward(pixels)?)
    }

    /// A caption of `image`, continuing `prompt` (may be empty; e.g. "a picture of").
    pub fn caption(&self, image: &Pixels, prompt: &str) -> Result<String> {
        let pixels = self.pixel_tensor(image)?.unsqueeze(0)?;
        Ok(self.generate(&pixels, prompt, Generation::default())?.text)
    }

    /// Whether the checkpoint answers questions (a `BlipForQuestionAnswering` one).
    pub fn answers_questions(&self) -> bool {
        self.questions.is_some()
    }

    /// The answer to `question` about `image`.
    pub fn answer(&self, image: &Pixels, question: &str) -> Result<String> {
        let pixels = self.pixel_tensor(image)?.unsqueeze(0)?;
        Ok(self
            .generate_answer(&pixels, question, Generation::default())?
            .text)
    }

    /// Decoding from `pixels` (`[1, 3, H, W]`) after `prompt`; greedy as transformers'
    /// `generate(do_sample=False)`: the start token replaces the tokenizer's, the prompt's own
    /// end token is dropped, and decoding stops at the separator token.
    pub fn generate(&self, pixels: &Tensor, prompt: &str, g: Generation) -> Result<Generated> {
        let image = self.vision.forward(pixels)?;
        let mut ids = vec![self.bos];
        ids.extend(self.tokenizer.plain_ids(prompt)?);
        self.decode(&image, ids, g)
    }

    /// Greedy answering as transformers' `BlipForQuestionAnswering.generate`: the question
    /// (`[CLS] question [SEP]`) is encoded against the image, and the decoder, starting from
    /// the start token, attends to the encoded question.
    pub fn generate_answer(
        &self,
        pixels: &Tensor,
        question: &str,
        g: Generation,
    ) -> Result<Generated> {
        let Some(encoder) = &self.questions else {
            return Err(Error::Unsupported(format!(
                "{} is a captioning checkpoint: answering needs a BLIP question-answering one \
                 (e.g. Salesforce/blip-vqa-base)",
                self.model_id
            )));
        };
        if question.trim().is_empty() {
            return Err(Error::Question("it is empty".to_owned()));
        }
        // Truncated to the encoder's positions, keeping the end token, as the reference.
        let ids = self.tokenizer.ids(question)?;
        let image = self.vision.forward(pixels)?;
        let memory = encoder.memory(&image)?;
        let question = encoder.encode(&ids, &memory)?;
        self.decode(&question, vec![self.bos], g)
    }

    /// Greedy decoding attending to `memory`, after `ids`.
    fn decode(&self, memory: &Tensor, mut ids: Vec<u32>, g: Generation) -> Result<Generated> {
        if ids.len() + g.max_new_tokens > self.text.max_len() {
            return Err(Error::Unsupported(format!(
                "a prompt of {} tokens and {} new ones: the decoder takes {} in all",
                ids.len() - 1,
                g.max_new_tokens,
                self.text.max_len()
            )));
        }
        let mut state = self.text.start(memory)?;
        let mut chooser = Chooser::new(g, self.sep);
        let mut logits = Vec::new();
        let mut next = ids.clone();
        for step in 0..g.max_new_tokens {
            let mut row = self.text.step(&mut state, &next)?.to_vec1::<f32>()?;
            logits.push(row.clone());
            let token = chooser.choose(step, &mut row);
            ids.push(token);
            if token == self.sep {
                break;
            }
            next = vec![token];
        }
        Ok(Generated {
            text: self.tokenizer.decode(&ids)?,
            ids,
            logits,
        })
    }
}
