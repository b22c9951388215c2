//! The data directory: one folder holds the database, index files, thumbnails and models.
//!
//! ```text
//! DATA_DIR/
//!   shoebox.db          SQLite database (+ -wal, -shm)
//!   thumbs/SIZE/AB/HASH.jpg
//!   models/NAME/        model checkpoints (config.json, model.safetensors, ...)
//!   index/vector/MODEL/ HNSW dumps of one model's vectors (derived, rebuilt when stale)
//!   index/text/         the tantivy text index (derived, rebuilt when stale)
//!   scan.lock           held while a scan runs
//! ```

use std::path::{Path, PathBuf};

/// Paths inside a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root`.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// `$XDG_DATA_HOME/shoebox`, else `$HOME/.local/share/shoebox`, else `./shoebox-data`.
    pub fn default_root() -> PathBuf {
        xdg_dir("XDG_DATA_HOME", ".local/share")
            .map_or_else(|| PathBuf::from("shoebox-data"), |d| d.join("shoebox"))
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database file.
    pub fn database(&self) -> PathBuf {
        self.root.join("shoebox.db")
    }

    /// The thumbnail tree.
    pub fn thumbnails(&self) -> PathBuf {
        self.root.join("thumbs")
    }

    /// Model checkpoints, one folder each.
    pub fn models(&self) -> PathBuf {
        self.root.join("models")
    }

    /// Photos Stable Diffusion made ("more like this"): a library root of its own.
    pub fn generated(&self) -> PathBuf {
        self.root.join("generated")
    }

    /// Where a generated photo is written before it is moved into [`Self::generated`].
    pub(crate) fn generating(&self) -> PathBuf {
        self.root.join("generating")
    }

    /// The vector index dumps of one model.
    pub fn vector_index(&self, model_id: &str) -> PathBuf {
        self.root.join("index/vector").join(model_id)
    }

    /// Names the CLIP model live searches use (until a model swap completes, not the
    /// configured one).
    pub(crate) fn active_model(&self) -> PathBuf {
        self.root.join("index/active-model")
    }

    /// The text index.
    pub fn text_index(&self) -> PathBuf {
        self.root.join("index/text")
    }

    /// The lock file held during a scan.
    pub(crate) fn scan_lock(&self) -> PathBuf {
        self.root.join("scan.lock")
    }

    /// Held by the one process running the pipeline's jobs on this library.
    pub(crate) fn worker_lock(&self) -> PathBuf {
        self.root.join("worker.lock")
    }
}

/// `$VAR` when set and absolute, else `$HOME/fallback`.
pub(crate) fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}
