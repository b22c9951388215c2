//! SigLIP's towers (Zhai et al. 2023, <https://arxiv.org/abs/2303.15343>; checkpoints in the
//! Hugging Face `SiglipModel` layout, e.g. <https://huggingface.co/google/siglip-base-patch16-224>
//! and the multilingual `google/siglip-base-patch16-256-multilingual`), and the text
//! canonicalisation its tokenizer applies. Loaded through [`crate::Clip`], which picks the
//! family from `config.json`'s `model_type`.
//!
//! Unlike CLIP, the text tower attends over the whole context without a causal mask, so a text
//! is always padded to the full context (64 tokens) and pooled at the last position; the image
//! tower pools with an attention head over all patches.

mod config;
mod text;
mod vision;

pub(crate) use config::{HfSiglipConfig, HfVision};
pub(crate) use text::{TextTower, canonicalize};
pub(crate) use vision::VisionTower;
