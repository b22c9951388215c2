//! Model operations: loading the CLIP checkpoint and the captioner, embedding files and texts,
//! zero-shot classification, captions.

use std::path::{Path, PathBuf};

use shoebox_core::{Captioner, Embedding, ImageEmbedder, Pixels};
use shoebox_indexer::load_pixels;
use shoebox_ml::{Clip, ImageToText, Prediction, ZeroShot, imagenet_templates};

use crate::{Engine, Error, Result};

impl Engine {
    /// Loads the CLIP model from `model_dir`, or from the models folder the settings name.
    pub fn clip(&self, model_dir: Option<&Path>) -> Result<Clip> {
        self.load_clip(&self.settings().models.clip, model_dir)
    }

    /// Loads the CLIP model in the models folder `name`.
    pub fn clip_named(&self, name: &str) -> Result<Clip> {
        self.load_clip(name, None)
    }

    fn load_clip(&self, name: &str, model_dir: Option<&Path>) -> Result<Clip> {
        let (dir, id) = self.model_folder(name, model_dir)?;
        let device = shoebox_ml::device(&self.settings().models.device)?;
        Ok(Clip::load_in(
            &dir,
            id,
            &device,
            self.settings().models.precision,
        )?)
    }

    /// Loads the captioner (BLIP or PaliGemma) from `model_dir`, or from the models folder the
    /// settings name.
    pub fn captioner(&self, model_dir: Option<&Path>) -> Result<ImageToText> {
        self.image_to_text(&self.settings().models.captioner, model_dir)
    }

    /// Loads the question-answering model (BLIP VQA or PaliGemma) from `model_dir`, or from the
    /// models folder the settings name.
    pub fn answerer(&self, model_dir: Option<&Path>) -> Result<ImageToText> {
        self.image_to_text(&self.settings().models.answerer, model_dir)
    }

    /// A captioning / answering checkpoint from `model_dir` or the models folder `name`.
    fn image_to_text(&self, name: &str, model_dir: Option<&Path>) -> Result<ImageToText> {
        let (dir, id) = self.model_folder(name, model_dir).map_err(|e| match e {
            Error::ModelMissing { name, dir } => Error::CaptionerMissing { name, dir },
            other => other,
        })?;
        let device = shoebox_ml::device(&self.settings().models.device)?;
        Ok(ImageToText::load_in(
            &dir,
            id,
            &device,
            self.settings().models.precision,
        )?)
    }

    /// The answer to `question` about a photo file, in `lang` (the model's languages only).
    pub fn answer_file(
        &self,
        model: &dyn Captioner,
        path: &Path,
        question: &str,
        lang: &str,
    ) -> Result<String> {
        self.check_question(model, question, lang)?;
        let image = self.load_file(path)?;
        Ok(model.answer(&image, question, lang)?)
    }

    /// Refuses what no photo could answer: an empty question, a language the model does not
    /// answer in, a model that does not answer.
    pub fn check_question(&self, model: &dyn Captioner, question: &str, lang: &str) -> Result<()> {
        let invalid = |what: String| Err(Error::Library(shoebox_core::Error::Invalid(what)));
        if !model.answers_questions() {
            return invalid(format!("{} does not answer questions", model.model_id()));
        }
        if !model.writes(lang) {
            return invalid(format!("{} does not answer in {lang:?}", model.model_id()));
        }
        if question.trim().is_empty() {
            return invalid("bad question: it is empty".to_owned());
        }
        Ok(())
    }

    /// A caption of a photo file (decoded upright, with the indexer's limits) in `lang`,
    /// continuing `prompt` where the model takes one (may be empty).
    pub fn caption_file(
        &self,
        model: &dyn Captioner,
        path: &Path,
        lang: &str,
        prompt: &str,
    ) -> Result<String> {
        let image = self.load_file(path)?;
        Ok(model.caption(&image, lang, prompt)?)
    }

    /// A photo file decoded upright, with the indexer's checks and limits.
    pub(crate) fn load_file(&self, path: &Path) -> Result<Pixels> {
        load_pixels(path, &self.settings().indexer).map_err(|reason| Error::BadPath {
            path: path.to_owned(),
            reason,
        })
    }

    /// `model_dir`, or the folder `name` under the models folder (which must exist), and the
    /// id its outputs are stored under (the folder's name).
    pub(crate) fn model_folder(
        &self,
        name: &str,
        model_dir: Option<&Path>,
    ) -> Result<(PathBuf, String)> {
        let dir = match model_dir {
            Some(dir) => dir.to_owned(),
            None => {
                let dir = self.settings().models_dir().join(name);
                if !dir.is_dir() {
                    return Err(Error::ModelMissing {
                        name: name.to_owned(),
                        dir,
                    });
                }
                dir
            }
        };
        let id = dir
            .file_name()
            .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned());
        Ok((dir, id))
    }

    /// Embeds photo files (decoded upright, with the indexer's limits), `models.batch_size`
    /// per forward pass.
    pub fn embed_files(&self, clip: &Clip, paths: &[PathBuf]) -> Result<Vec<Embedding>> {
        let mut embeddings = Vec::with_capacity(paths.len());
        for batch in paths.chunks(self.settings().models.batch_size) {
            let images = batch
                .iter()
                .map(|path| self.load_file(path))
                .collect::<Result<Vec<_>>>()?;
            embeddings.extend(clip.embed_images(&images)?);
        }
        Ok(embeddings)
    }

    /// Embeds texts.
    pub fn embed_texts(&self, clip: &Clip, texts: &[&str]) -> Result<Vec<Embedding>> {
        Ok(clip.embed_texts(texts)?)
    }

    /// Ranks `labels` for a photo file. Without templates, CLIP's 80 ImageNet templates.
    pub fn classify(
        &self,
        clip: &Clip,
        path: &Path,
        labels: &[String],
        templates: &[String],
    ) -> Result<Vec<Prediction>> {
        let templates: Vec<&str> = if templates.is_empty() {
            imagenet_templates()
        } else {
            templates.iter().map(String::as_str).collect()
        };
        let zero_shot = ZeroShot::new(clip, labels, &templates)?;
        let image = self
            .embed_files(clip, &[path.to_owned()])?
            .pop()
            .ok_or_else(|| Error::BadPath {
                path: path.to_owned(),
                reason: "no embedding".to_owned(),
            })?;
        Ok(zero_shot.classify(&image)?)
    }
}
