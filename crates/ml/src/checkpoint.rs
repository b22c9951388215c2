//! Reading the files of a checkpoint directory, with errors that say which file and why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// A checkpoint directory in the Hugging Face layout.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    /// The path of `name`, which must exist.
    pub(crate) fn file(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(Error::MissingFile { path })
        }
    }

    /// A JSON file parsed into `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let path = self.file(name)?;
        let text = fs_err::read_to_string(&path).map_err(|e| Error::InvalidFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| Error::InvalidFile {
            path,
            reason: e.to_string(),
        })
    }

    /// The weights in `model.safetensors`, read into memory (no mmap: this crate has no
    /// unsafe code) as `dtype`.
    pub(crate) fn weights(
        &self,
        dtype: DType,
        device: &Device,
    ) -> Result<(VarBuilder<'static>, PathBuf)> {
        let (tensors, path) = self.tensors("model.safetensors")?;
        Ok((VarBuilder::from_tensors(tensors, dtype, device), path))
    }

    /// Every tensor in the safetensors file `name`, on the CPU as stored, by name.
    pub(crate) fn tensors(&self, name: &str) -> Result<(HashMap<String, Tensor>, PathBuf)> {
        let path = self.file(name)?;
        let invalid = |reason: String| Error::InvalidFile {
            path: path.clone(),
            reason,
        };
        let bytes = fs_err::read(&path).map_err(|e| invalid(e.to_string()))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
            .map_err(|e| invalid(e.to_string()))?;
        Ok((tensors, path))
    }
}
