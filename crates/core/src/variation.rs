//! A photo Stable Diffusion made from another ("more like this"), and what made it.

use serde::{Deserialize, Serialize};

use crate::PhotoId;

/// One variation of a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariationRecord {
    /// The photo it was made from.
    pub source: PhotoId,
    /// Its file name in the generated folder.
    pub file: String,
    /// Its own photo record, once the scan has read the file.
    pub photo: Option<PhotoId>,
    /// The prompt it followed.
    pub prompt: String,
    /// What it was steered away from.
    pub negative_prompt: String,
    /// The noise's seed.
    pub seed: u64,
    /// The Stable Diffusion checkpoint.
    pub model: String,
    /// How far from the source (0 to 1).
    pub strength: f64,
    /// Sampler steps over the schedule.
    pub steps: usize,
    /// Classifier-free guidance scale.
    pub guidance: f64,
    /// When it was made (RFC 3339; set by the store).
    pub created_at: String,
}
