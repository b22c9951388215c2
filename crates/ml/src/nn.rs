//! The layers our transformer towers are built from: a linear layer that runs on the packed
//! CPU kernel when it can, and the pre-norm encoder shared by CLIP and SigLIP.

mod activation;
mod attention;
mod encoder;
mod linear;
mod mlp;
mod patches;

pub(crate) use activation::Activation;
pub(crate) use attention::{Attention, attend};
pub(crate) use encoder::{Encoder, EncoderConfig};
pub(crate) use linear::{Linear, loading_in};
pub(crate) use mlp::Mlp;
pub(crate) use patches::PatchEmbedding;
