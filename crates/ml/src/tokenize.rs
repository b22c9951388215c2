//! Tokenising text with the checkpoint's own `tokenizer.json`, truncated to the context length
//! as the reference does (the end-of-text token is kept).

use tokenizers::{Tokenizer, TruncationParams};

use crate::checkpoint::Checkpoint;
use crate::{Error, Result};

/// A checkpoint's tokenizer.
#[derive(Debug, Clone)]
pub(crate) struct TextTokenizer {
    inner: Tokenizer,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, truncating to `max_len` tokens including special tokens.
    pub(crate) fn load(checkpoint: &Checkpoint, max_len: usize) -> Result<Self> {
        let path = checkpoint.file("tokenizer.json")?;
        let mut inner = Tokenizer::from_file(&path).map_err(|e| Error::InvalidFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..TruncationParams::default()
            }))
            .map_err(|e| Error::InvalidFile {
                path,
                reason: e.to_string(),
            })?;
        inner.with_padding(None);
        Ok(Self { inner })
    }

    /// The token ids of `text`, with the start and end tokens.
    pub(crate) fn ids(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The token ids of `text` alone, without start or end tokens.
    pub(crate) fn plain_ids(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The id of the vocabulary entry `token` (a special token such as a padding token).
    pub(crate) fn token_id(&self, token: &str) -> Result<u32> {
        self.inner
            .token_to_id(token)
            .ok_or_else(|| Error::Tokenize(format!("the vocabulary has no token {token:?}")))
    }

    /// The text of `ids`, special tokens left out.
    pub(crate) fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| Error::Tokenize(e.to_string()))
    }
}
