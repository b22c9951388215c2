//! Model tests against reference fixtures made by `tests/fixtures/gen_clip.py`,
//! `gen_siglip.py`, `gen_mobileclip.py`, `gen_blip.py` and `gen_paligemma.py`.

mod blip;
mod clip_errors;
mod paligemma;
mod parity;
mod pull;
mod tokenizer_parity;
mod zero_shot;

use std::path::PathBuf;

/// The tiny random-weight CLIP checkpoint and its reference outputs.
pub(crate) fn clip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clip-tiny")
}

/// The tiny random-weight SigLIP checkpoint and its reference outputs
/// (`tests/fixtures/gen_siglip.py`).
pub(crate) fn siglip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/siglip-tiny")
}

/// The tiny random-weight MobileCLIP checkpoint and its reference outputs
/// (`tests/fixtures/gen_mobileclip.py`).
pub(crate) fn mobileclip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/mobileclip-tiny")
}

/// The tiny random-weight BLIP captioning checkpoint and its reference outputs
/// (`tests/fixtures/gen_blip.py`).
pub(crate) fn blip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/blip-tiny")
}

/// The tiny random-weight BLIP question-answering checkpoint and its reference outputs.
pub(crate) fn blip_vqa_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/blip-vqa-tiny")
}

/// The tiny random-weight PaliGemma checkpoint and its reference outputs
/// (`tests/fixtures/gen_paligemma.py`).
pub(crate) fn paligemma_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/paligemma-tiny")
}
