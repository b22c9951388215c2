//! Reading the files of a checkpoint directory, with errors that say which file and why.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

mod lazy;

pub(crate) use lazy::LazyTensors;

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

    /// The weights in `model.safetensors` (or the shards of `model.safetensors.index.json`),
    /// read tensor by tensor as the model asks for them, as `dtype`; the path names the
    /// weights in errors.
    pub(crate) fn weights(
        &self,
        dtype: DType,
        device: &Device,
    ) -> Result<(VarBuilder<'static>, PathBuf)> {
        let files = lazy::weight_files(&self.dir)?;
        let path = files
            .first()
            .cloned()
            .unwrap_or_else(|| self.dir.join("model.safetensors"));
        let tensors = LazyTensors::open(&files)?;
        Ok((
            VarBuilder::from_backend(Box::new(tensors), dtype, device.clone()),
            path,
        ))
    }

    /// The safetensors file `name`, read tensor by tensor on demand.
    pub(crate) fn lazy(&self, name: &str) -> Result<(LazyTensors, PathBuf)> {
        let path = self.file(name)?;
        Ok((LazyTensors::open(std::slice::from_ref(&path))?, path))
    }
}
