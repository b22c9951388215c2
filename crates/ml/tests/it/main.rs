//! Model tests against reference fixtures made by `tests/fixtures/gen_clip.py`,
//! `gen_siglip.py`, `gen_mobileclip.py`, `gen_blip.py`, `gen_paligemma.py` and `gen_sd.py`.

mod blip;
mod clip_errors;
mod diffusion;
mod paligemma;
mod parity;
mod precision;
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

/// A fixture photo, decoded by our decoder.
pub(crate) fn photo(name: &str) -> anyhow::Result<shoebox_core::Pixels> {
    Ok(rgb(image::load_from_memory(&shoebox_testkit::fixture(
        name,
    )?)?))
}

/// The RGB pixels of a decoded image.
pub(crate) fn rgb(image: image::DynamicImage) -> shoebox_core::Pixels {
    let rgb = image.into_rgb8();
    shoebox_core::Pixels {
        width: rgb.width(),
        height: rgb.height(),
        rgb: rgb.into_raw(),
    }
}

/// The largest absolute difference between two tensors of one shape.
pub(crate) fn max_abs_diff(
    a: &candle_core::Tensor,
    b: &candle_core::Tensor,
) -> anyhow::Result<f32> {
    Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?)
}
