//! The port for models that put an image into words: captions, and answers to questions.

use crate::{Pixels, Result};

/// Puts an image into words. Implemented in `shoebox-ml` (BLIP, PaliGemma); test doubles
/// implement it too.
pub trait Captioner: Send + Sync {
    /// The model's id, stored with every caption.
    fn model_id(&self) -> &str;

    /// Whether it writes in `lang` (ISO 639-1).
    fn writes(&self, lang: &str) -> bool;

    /// Whether it answers questions.
    fn answers_questions(&self) -> bool;

    /// A caption of `image` in `lang`, continuing `prompt` where the model takes one.
    fn caption(&self, image: &Pixels, lang: &str, prompt: &str) -> Result<String>;

    /// The answer to `question` about `image`, in `lang`.
    fn answer(&self, image: &Pixels, question: &str, lang: &str) -> Result<String>;
}
