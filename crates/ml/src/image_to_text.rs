//! [`ImageToText`]: whichever captioning / answering model a checkpoint holds — BLIP (the fast
//! CPU path; captions in English, answers with a question-answering checkpoint) or PaliGemma
//! (captions and answers in many languages) — chosen by `config.json`'s `model_type`.

use std::path::Path;

use candle_core::Device;
use serde::Deserialize;
use shoebox_core::{self as core, Captioner, Pixels};

use crate::checkpoint::Checkpoint;
use crate::{Blip, Error, PaliGemma, Precision, Result};

/// A loaded captioning / answering model.
#[derive(Debug)]
pub enum ImageToText {
    /// BLIP (`model_type` "blip").
    Blip(Box<Blip>),
    /// PaliGemma (`model_type` "paligemma").
    PaliGemma(Box<PaliGemma>),
}

#[derive(Deserialize)]
struct ModelType {
    model_type: String,
}

impl ImageToText {
    /// Loads the checkpoint in `dir` under the id `model_id`.
    pub fn load(dir: &Path, model_id: impl Into<String>, device: &Device) -> Result<Self> {
        let kind = Checkpoint::new(dir)
            .json::<ModelType>("config.json")?
            .model_type;
        match kind.as_str() {
            "blip" => Ok(Self::Blip(Box::new(Blip::load(dir, model_id, device)?))),
            "paligemma" => Ok(Self::PaliGemma(Box::new(PaliGemma::load(
                dir, model_id, device,
            )?))),
            other => Err(Error::Unsupported(format!(
                "model_type {other:?} (expected \"blip\" or \"paligemma\")"
            ))),
        }
    }
}

impl ImageToText {
    /// Loads the checkpoint in `dir` under the id `model_id`, its matrix products in
    /// `precision` where this device and CPU allow it — made so from the start, never held in
    /// f32 beside.
    pub fn load_in(
        dir: &Path,
        model_id: impl Into<String>,
        device: &Device,
        precision: Precision,
    ) -> Result<Self> {
        crate::nn::loading_in(precision.effective(device), || {
            Self::load(dir, model_id, device)
        })
    }

    /// Has the model's matrix products run in `precision` where this device and CPU allow it;
    /// returns the precision now in effect.
    pub fn set_precision(&mut self, precision: Precision) -> Result<Precision> {
        match self {
            Self::Blip(m) => m.set_precision(precision),
            Self::PaliGemma(m) => m.set_precision(precision),
        }
    }
}

impl Captioner for ImageToText {
    fn model_id(&self) -> &str {
        match self {
            Self::Blip(m) => m.model_id(),
            Self::PaliGemma(m) => m.model_id(),
        }
    }

    fn writes(&self, lang: &str) -> bool {
        match self {
            // BLIP was trained on English text only.
            Self::Blip(_) => lang == "en",
            Self::PaliGemma(_) => true,
        }
    }

    fn answers_questions(&self) -> bool {
        match self {
            Self::Blip(m) => m.answers_questions(),
            Self::PaliGemma(_) => true,
        }
    }

    fn caption(&self, image: &Pixels, lang: &str, prompt: &str) -> core::Result<String> {
        Ok(match self {
            Self::Blip(m) => m.caption(image, prompt)?,
            Self::PaliGemma(m) => m.caption(image, lang)?,
        })
    }

    fn answer(&self, image: &Pixels, question: &str, lang: &str) -> core::Result<String> {
        Ok(match self {
            Self::Blip(m) => m.answer(image, question)?,
            Self::PaliGemma(m) => m.answer(image, question, lang)?,
        })
    }
}
