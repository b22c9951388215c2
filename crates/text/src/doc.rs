//! [`TextDoc`]: everything the text index knows about one photo.

use shoebox_core::PhotoId;

/// A caption and its language (ISO 639-1, e.g. `en`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caption {
    /// Language code.
    pub lang: String,
    /// The caption.
    pub text: String,
}

/// One photo's searchable text and filter fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TextDoc {
    /// The photo.
    pub photo: PhotoId,
    /// The library root it is in (folder filters are per root).
    pub root: i64,
    /// Path relative to the root, `/`-separated.
    pub rel_path: String,
    /// Captions, at most one per language.
    pub captions: Vec<Caption>,
    /// Tags, lower case.
    pub tags: Vec<String>,
    /// Camera make and model, e.g. `Google Pixel 7`.
    pub camera: Option<String>,
    /// Lens model.
    pub lens: Option<String>,
    /// When the photo was taken (Unix seconds), when known.
    pub taken: Option<i64>,
    /// `photo` for now; the filter is there for videos and generated images.
    pub media: String,
}

impl TextDoc {
    /// The file name and the folders above it, as words: `2023/Trip_to-Rome/IMG_1.jpg` →
    /// `2023 Trip to Rome IMG 1 jpg` (the tokenizer splits on the rest).
    pub(crate) fn path_words(&self) -> String {
        self.rel_path
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}
