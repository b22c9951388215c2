//! The architecture-specific half of [`super::Clip`]: CLIP's or SigLIP's towers, and how each
//! turns texts into the token rows its text tower takes.

use candle_core::{Device, Tensor};

use super::text::TextTower;
use super::vision::VisionTower;
use crate::kernels::sgemm::Precision;
use crate::tokenize::TextTokenizer;
use crate::{Error, Result, siglip};

#[derive(Debug)]
pub(crate) enum Towers {
    Clip {
        vision: Box<VisionTower>,
        text: Box<TextTower>,
        /// The end-of-text token, where the text tower pools.
        eos: u32,
    },
    Siglip {
        vision: Box<siglip::VisionTower>,
        text: Box<siglip::TextTower>,
        /// Every text is padded to this length with `pad`.
        context: usize,
        pad: u32,
    },
    MobileClip {
        model: Box<crate::mobileclip::MobileClip>,
        /// Every text is padded to this length with 0, as open_clip does.
        context: usize,
    },
}

impl Towers {
    /// Has the matrix products run in `precision`; returns the precision in effect (f32 for
    /// MobileCLIP, whose convolutions are candle's).
    pub(crate) fn set_precision(&mut self, precision: Precision) -> Result<Precision> {
        match self {
            Self::Clip { vision, text, .. } => {
                vision.set_precision(precision)?;
                text.set_precision(precision)?;
            }
            Self::Siglip { vision, text, .. } => {
                vision.set_precision(precision)?;
                text.set_precision(precision)?;
            }
            Self::MobileClip { .. } => return Ok(Precision::F32),
        }
        Ok(precision)
    }

    pub(crate) fn image(&self, pixels: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Clip { vision, .. } => vision.forward(pixels)?,
            Self::Siglip { vision, .. } => vision.forward(pixels)?,
            Self::MobileClip { model, .. } => model.image(pixels)?,
        })
    }

    /// The ids the tokenizer gives `text` (after SigLIP's canonicalisation).
    pub(crate) fn token_ids(&self, tokenizer: &TextTokenizer, text: &str) -> Result<Vec<u32>> {
        match self {
            Self::Clip { .. } | Self::MobileClip { .. } => tokenizer.ids(text),
            Self::Siglip { .. } => tokenizer.ids(&siglip::canonicalize(text)),
        }
    }

    /// Features of a batch of texts.
    pub(crate) fn text(
        &self,
        tokenizer: &TextTokenizer,
        texts: &[&str],
        device: &Device,
    ) -> Result<Tensor> {
        let rows = texts
            .iter()
            .map(|t| self.token_ids(tokenizer, t))
            .collect::<Result<Vec<_>>>()?;
        match self {
            Self::Clip { text, eos, .. } => {
                // The reference pools at the first end-of-text token (the tokenizer always
                // ends a sequence with one, also when it truncates). Causal attention means
                // padding after it changes nothing, so a batch is padded to its longest row.
                let pool = rows
                    .iter()
                    .map(|ids| {
                        ids.iter()
                            .position(|id| id == eos)
                            .ok_or_else(|| Error::Tokenize(format!("no end-of-text token {eos}")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let width = rows.iter().map(Vec::len).max().unwrap_or(0);
                Ok(text.forward(&padded(&rows, width, *eos, device)?, &pool)?)
            }
            Self::Siglip {
                text, context, pad, ..
            } => Ok(text.forward(&padded(&rows, *context, *pad, device)?)?),
            Self::MobileClip { model, context } => {
                Ok(model.text(&padded(&rows, *context, 0, device)?)?)
            }
        }
    }
}

/// `[rows, width]` u32 ids, each row filled up with `pad`.
fn padded(rows: &[Vec<u32>], width: usize, pad: u32, device: &Device) -> Result<Tensor> {
    let ids: Vec<u32> = rows
        .iter()
        .flat_map(|ids| {
            let fill = std::iter::repeat_n(pad, width.saturating_sub(ids.len()));
            ids.iter().copied().take(width).chain(fill)
        })
        .collect();
    Ok(Tensor::from_vec(ids, (rows.len(), width), device)?)
}
