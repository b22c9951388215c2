//! SigLIP's text tower (`text_model`): tokens + positions → encoder (no mask) → final norm at
//! the last position → `head`; and the canonicalisation of text before tokenising.

use candle_core::{IndexOp, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Module, VarBuilder};

use super::config::TextConfig;
use crate::kernels::sgemm::Precision;
use crate::nn::{Encoder, Linear};

#[derive(Debug, Clone)]
pub(crate) struct TextTower {
    tokens: Embedding,
    positions: Tensor,
    encoder: Encoder,
    final_norm: LayerNorm,
    head: Linear,
}

impl TextTower {
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.encoder.set_precision(precision)?;
        self.head.set_precision(precision)
    }

    pub(crate) fn load(vb: &VarBuilder, c: &TextConfig) -> Result<Self> {
        let d = c.encoder.hidden;
        let tower = vb.pp("text_model");
        let emb = tower.pp("embeddings");
        Ok(Self {
            tokens: candle_nn::embedding(c.vocab_size, d, emb.pp("token_embedding"))?,
            positions: emb.get((c.context_length, d), "position_embedding.weight")?,
            encoder: Encoder::load(&tower.pp("encoder"), &c.encoder)?,
            final_norm: candle_nn::layer_norm(d, c.encoder.eps, tower.pp("final_layer_norm"))?,
            head: Linear::load(&tower.pp("head"), d, d, true)?,
        })
    }

    /// `ids`: `[B, S]` (u32), each row padded to the full context → features `[B, D]`.
    pub(crate) fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (_, s) = ids.dims2()?;
        let x = self
            .tokens
            .forward(ids)?
            .broadcast_add(&self.positions.narrow(0, 0, s)?)?;
        let encoded = self.encoder.forward(&x, false)?;
        let last = encoded.i((.., s - 1, ..))?.contiguous()?;
        self.head.forward(&self.final_norm.forward(&last)?)
    }
}

/// What SigLIP's tokenizer does before SentencePiece (big_vision's `canonicalize_text`, as in
/// transformers' `SiglipTokenizer`): lower-case, drop ASCII punctuation, collapse whitespace
/// runs to one space, trim.
pub(crate) fn canonicalize(text: &str) -> String {
    let lowered = text.to_lowercase();
    let kept = lowered.chars().filter(|c| !c.is_ascii_punctuation());
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in kept {
        // Python's `\s` also matches the ASCII separators 0x1C–0x1F.
        if c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c) {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::canonicalize;

    #[test]
    fn canonical_text_is_lower_case_without_punctuation() {
        assert_eq!(canonicalize("  A Photo,\tof a CAT! "), "a photo of a cat");
        assert_eq!(canonicalize("it's 3.14 — “quoted”"), "its 314 — “quoted”");
        assert_eq!(canonicalize("\u{3000}東京\u{a0}\u{a0}night"), "東京 night");
        assert_eq!(canonicalize("?!"), "");
    }
}
