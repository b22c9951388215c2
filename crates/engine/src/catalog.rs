//! Model management: the catalog (built-in `config/models.toml` plus `[models] catalog`),
//! which models are installed, pulling them from the hub and verifying them.

use serde::Serialize;
use shoebox_ml::{Catalog, DownloadProgress, Family, FileState, Hub};

use crate::{Engine, Result};

/// A catalog model and its state on this machine.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelStatus {
    /// The model's name (and folder).
    pub name: String,
    /// Its architecture.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub family: Family,
    /// Embedding width.
    pub dimension: usize,
    /// Hub repository.
    pub repo: String,
    /// Pinned commit.
    pub revision: String,
    /// One line about it.
    pub description: String,
    /// Every file is present (checksums are checked by `verify`, not here).
    pub installed: bool,
    /// It is the model `[models] clip` names.
    pub active: bool,
}

/// One file's state, for `shoebox models verify`.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// File name.
    pub file: String,
    /// `ok`, `missing` or `corrupt`.
    pub state: &'static str,
    /// The file's SHA-256 when it is not the pinned one.
    pub actual_sha256: Option<String>,
}

impl Engine {
    /// The catalog of known models.
    pub fn catalog(&self) -> Result<Catalog> {
        let extra = &self.settings().models.catalog;
        Ok(Catalog::load(
            (!extra.as_os_str().is_empty()).then_some(extra.as_path()),
        )?)
    }

    /// Every catalog model with its state.
    pub fn models(&self) -> Result<Vec<ModelStatus>> {
        let dir = self.settings().models_dir();
        Ok(self
            .catalog()?
            .models
            .into_iter()
            .map(|m| ModelStatus {
                installed: m
                    .files
                    .iter()
                    .all(|f| dir.join(&m.name).join(&f.name).is_file()),
                active: m.name == self.settings().models.clip,
                name: m.name,
                family: m.family,
                dimension: m.dimension,
                repo: m.repo,
                revision: m.revision,
                description: m.description,
            })
            .collect())
    }

    /// Downloads what is missing or corrupt of model `name`; returns the files fetched.
    pub fn pull_model(
        &self,
        name: &str,
        progress: &mut dyn DownloadProgress,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog()?;
        let model = catalog.get(name)?;
        let hub = Hub {
            endpoint: self.settings().models.hub.clone(),
        };
        let dir = self.settings().models_dir().join(&model.name);
        Ok(shoebox_ml::pull(model, &dir, &hub, progress)?)
    }

    /// Checks every file of model `name` against its pinned checksum.
    pub fn verify_model(&self, name: &str) -> Result<Vec<FileReport>> {
        let catalog = self.catalog()?;
        let model = catalog.get(name)?;
        let dir = self.settings().models_dir().join(&model.name);
        Ok(shoebox_ml::verify(model, &dir)?
            .into_iter()
            .map(|(file, state)| match state {
                FileState::Ok => FileReport {
                    file,
                    state: "ok",
                    actual_sha256: None,
                },
                FileState::Missing => FileReport {
                    file,
                    state: "missing",
                    actual_sha256: None,
                },
                FileState::Corrupt { actual } => FileReport {
                    file,
                    state: "corrupt",
                    actual_sha256: Some(actual),
                },
            })
            .collect())
    }
}
