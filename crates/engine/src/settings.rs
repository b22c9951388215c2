//! Settings: `config/default.toml` (embedded) ← a user file ← `SHOEBOX__SECTION__KEY`
//! environment variables ← command-line flags; later sources win.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use shoebox_indexer::{IndexerSettings, ThumbnailSettings, WatchSettings};

use crate::captions::CaptionSettings;
use crate::paths::{DataDir, xdg_dir};
use crate::search::SearchSettings;
use crate::tags::TagSettings;
use crate::vary::VarySettings;
use crate::{Error, Result};

/// The defaults, every key commented.
const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// All of Shoebox's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where things are stored.
    pub storage: StorageSettings,
    /// How photos are found and read.
    pub indexer: IndexerSettings,
    /// Thumbnail sizes and quality.
    pub thumbnails: ThumbnailSettings,
    /// Where models live and which are used.
    pub models: ModelSettings,
    /// How searches rank and cut off.
    pub search: SearchSettings,
    /// Which photos get captions, in which languages.
    pub captions: CaptionSettings,
    /// Zero-shot tagging.
    pub tags: TagSettings,
    /// How the roots are watched while Shoebox runs.
    pub watch: WatchSettings,
    /// "More like this": Stable Diffusion variations of a photo.
    pub vary: VarySettings,
    /// The job queue's retry policy.
    pub jobs: JobSettings,
}

/// The `[models]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    /// Folder of model checkpoints; empty means `DATA_DIR/models`.
    pub dir: PathBuf,
    /// The CLIP checkpoint's folder name.
    pub clip: String,
    /// The captioning checkpoint's (BLIP) folder name.
    pub captioner: String,
    /// The question-answering checkpoint's (BLIP VQA) folder name.
    pub answerer: String,
    /// `"auto"` (a compiled-in GPU when present) or `"cpu"`.
    pub device: String,
    /// Photos per forward pass.
    pub batch_size: usize,
    /// The number format of the models' matrix products on the CPU.
    pub precision: shoebox_ml::Precision,
    /// Where `shoebox models pull` downloads from (the Hugging Face hub or a mirror).
    pub hub: String,
    /// An extra model catalog file (same format as `config/models.toml`); empty for none.
    pub catalog: PathBuf,
}

/// The `[storage]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// The data directory; empty means `$XDG_DATA_HOME/shoebox`.
    pub data_dir: PathBuf,
    /// The database URL; empty means `sqlite://DATA_DIR/shoebox.db`.
    pub database_url: String,
    /// Folders whose sub-folders an admin may add as library roots from the web UI, by
    /// choosing one from a list the server makes (a browser never sends a path).
    pub root_parents: Vec<PathBuf>,
    /// How long a write waits for the database's lock (held by another program) before the
    /// operation fails for now (the live library then backs off and tries again).
    pub busy_timeout_ms: u64,
}

/// The `[jobs]` section: the job queue's retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// Attempts at a job before it is dead (kept with its reason until retried).
    pub max_attempts: u32,
    /// The wait before the first retry of a failed job; each further one waits four times
    /// longer.
    pub first_retry_seconds: u64,
}

/// A setting's value from a command-line flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Override {
    /// A switch (`--no-caption` sets `captions.enabled` to false).
    Flag(bool),
    /// Text (a path, a mode).
    Text(String),
}

impl Settings {
    /// Loads the layered settings. `config_file` is the `--config` flag (it must exist); without
    /// it `$XDG_CONFIG_HOME/shoebox/config.toml` is read when present. `overrides` are
    /// `(dotted.key, value)` pairs from command-line flags.
    pub fn load(config_file: Option<&Path>, overrides: &[(&str, Override)]) -> Result<Self> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        match config_file {
            Some(path) => {
                if !path.is_file() {
                    return Err(Error::BadPath {
                        path: path.to_owned(),
                        reason: "config file not found".to_owned(),
                    });
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => {
                let user =
                    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("shoebox/config.toml"));
                if let Some(path) = user.filter(|p| p.is_file()) {
                    figment = figment.merge(Toml::file_exact(path));
                }
            }
        }
        figment = figment.merge(Env::prefixed("SHOEBOX__").split("__"));
        for (key, value) in overrides {
            figment = figment.merge(Serialized::default(key, value));
        }
        let settings: Self = figment.extract()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The data directory these settings name.
    pub fn data_dir(&self) -> DataDir {
        if self.storage.data_dir.as_os_str().is_empty() {
            DataDir::new(DataDir::default_root())
        } else {
            DataDir::new(self.storage.data_dir.clone())
        }
    }

    /// The folder of model checkpoints.
    pub fn models_dir(&self) -> PathBuf {
        if self.models.dir.as_os_str().is_empty() {
            self.data_dir().models()
        } else {
            self.models.dir.clone()
        }
    }

    fn validate(&self) -> Result<()> {
        let invalid = |what: &str| Error::Settings(Box::new(figment::Error::from(what.to_owned())));
        if self.thumbnails.sizes.is_empty()
            || self.thumbnails.sizes.iter().any(|&s| s == 0 || s > 8192)
        {
            return Err(invalid(
                "thumbnails.sizes must list sizes between 1 and 8192",
            ));
        }
        if !(1..=100).contains(&self.thumbnails.quality) {
            return Err(invalid("thumbnails.quality must be between 1 and 100"));
        }
        if let Some(lang) = self
            .captions
            .languages
            .iter()
            .find(|l| !shoebox_text::SUPPORTED_LANGUAGES.contains(&l.as_str()))
        {
            return Err(invalid(&format!(
                "captions.languages: {lang:?} is not one of {}",
                shoebox_text::SUPPORTED_LANGUAGES.join(", ")
            )));
        }
        self.captions.window().map_err(|e| invalid(&e))?;
        if !(0.0..=1.0).contains(&self.tags.threshold) || self.tags.max_per_photo == 0 {
            return Err(invalid(
                "tags.threshold must be in [0, 1] and tags.max_per_photo positive",
            ));
        }
        if self.models.batch_size == 0 {
            return Err(invalid("models.batch_size must be positive"));
        }
        if self.indexer.max_image_pixels == 0 || self.indexer.max_file_bytes == 0 {
            return Err(invalid(
                "indexer.max_image_pixels and indexer.max_file_bytes must be positive",
            ));
        }
        Ok(())
    }
}

impl Default for Settings {
    /// The embedded defaults alone.
    fn default() -> Self {
        // The embedded file is checked by the tests; it always parses.
        Figment::from(Toml::string(DEFAULTS))
            .extract()
            .unwrap_or_else(|e| panic!("config/default.toml is invalid: {e}"))
    }
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment::Jail's closures return figment::Error"
)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_validate() {
        let s = Settings::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.thumbnails.sizes, vec![256, 1280]);
    }

    #[test]
    fn a_settings_file_from_before_the_job_priorities_still_loads() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("old.toml");
        fs_err::write(&file, "[watch]\nswap_slice = 512\nrescan_minutes = 60\n")?;
        let s = Settings::load(Some(&file), &[])?;
        assert_eq!(s.watch.rescan_minutes, 60);
        Ok(())
    }

    #[test]
    fn layers_apply_in_order() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("c.toml");
        fs_err::write(
            &file,
            "[indexer]\nbatch_size = 7\nthreads = 3\n[thumbnails]\nquality = 50\n",
        )?;
        figment::Jail::expect_with(|jail| {
            jail.set_env("SHOEBOX__INDEXER__THREADS", "5");
            jail.set_env("SHOEBOX__STORAGE__DATABASE_URL", "sqlite:///env.db");
            let s = Settings::load(
                Some(&file),
                &[
                    (
                        "storage.database_url",
                        Override::Text("sqlite:///x.db".to_owned()),
                    ),
                    ("captions.enabled", Override::Flag(false)),
                    ("indexer.retry_failed", Override::Flag(true)),
                ],
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(s.indexer.batch_size, 7, "file beats defaults");
            assert_eq!(s.indexer.threads, 5, "env beats file");
            assert_eq!(s.thumbnails.quality, 50);
            assert_eq!(s.storage.database_url, "sqlite:///x.db", "flags apply");
            assert!(
                !s.captions.enabled && s.indexer.retry_failed,
                "switches apply"
            );
            Ok(())
        });
        Ok(())
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[indexer]\nbatchsize = 7\n")?;
            let err = Settings::load(Some(Path::new("bad.toml")), &[])
                .err()
                .map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.contains("batchsize")),
                "unknown key is named"
            );
            let err = Settings::load(Some(Path::new("nope.toml")), &[])
                .err()
                .map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("not found")));
            Ok(())
        });
    }
}
