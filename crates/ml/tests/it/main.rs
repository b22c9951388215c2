//! Model tests against reference fixtures made by `tests/fixtures/gen_clip.py`.

mod clip_errors;
mod clip_parity;
mod tokenizer_parity;
mod zero_shot;

use std::path::PathBuf;

/// The tiny random-weight CLIP checkpoint and its reference outputs.
pub(crate) fn clip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clip-tiny")
}
