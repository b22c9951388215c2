//! Embeddings and the ports of the models that make them.

use serde::{Deserialize, Serialize};

use crate::Result;

/// An L2-normalised vector and the model that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// The model's id, e.g. `clip-vit-b32`; vectors of different models never mix.
    pub model_id: String,
    /// The unit-length vector.
    pub vector: Vec<f32>,
}

impl Embedding {
    /// The vector's dimension.
    pub fn dim(&self) -> usize {
        self.vector.len()
    }

    /// Cosine similarity with another embedding of the same model (a dot product, since both
    /// have unit length).
    pub fn cosine(&self, other: &Self) -> f32 {
        self.vector
            .iter()
            .zip(&other.vector)
            .map(|(a, b)| a * b)
            .sum()
    }
}

/// An upright 8-bit RGB image (EXIF orientation already applied), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

/// Maps images into an embedding space.
pub trait ImageEmbedder: Send + Sync {
    /// The model's id, stored with every vector.
    fn model_id(&self) -> &str;

    /// One embedding per image, in order.
    fn embed_images(&self, images: &[Pixels]) -> Result<Vec<Embedding>>;
}

/// Maps texts into the same space as an [`ImageEmbedder`].
pub trait TextEmbedder: Send + Sync {
    /// The model's id, stored with every vector.
    fn model_id(&self) -> &str;

    /// One embedding per text, in order.
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Embedding>>;
}
