//! [`Engine`]: the operations on a library.

use std::path::{Path, PathBuf};

use shoebox_core::{LibraryStatus, MetadataStore, Photo, PhotoId, Root, RootId};
use shoebox_indexer::{ScanProgress, ScanSummary, Scanner};
use shoebox_store::SqliteStore;

use crate::{DataDir, Error, Result, Settings};

/// An open library: settings, data directory and store.
#[derive(Debug)]
pub struct Engine {
    settings: Settings,
    data: DataDir,
    store: SqliteStore,
    /// Names this process's claims in the job queue.
    pub(crate) worker_id: String,
    /// The data directory's worker lock, once taken.
    pub(crate) worker_lock: tokio::sync::OnceCell<fs_err::File>,
    /// The tagging stage's label embeddings, kept between passes.
    pub(crate) scorer: std::sync::Mutex<Option<std::sync::Arc<crate::tags::Scorer>>>,
    /// Failed sign-ins by name.
    pub(crate) throttle: crate::throttle::Throttle,
    /// The CLIP model the live library in this process embeds with, once it runs.
    pub(crate) embedding_model: std::sync::Mutex<Option<String>>,
}

impl Engine {
    /// Opens the library the settings name, creating the data directory and database.
    pub async fn open(settings: Settings) -> Result<Self> {
        let data = settings.data_dir();
        fs_err::create_dir_all(data.root())?;
        let store = if settings.storage.database_url.is_empty() {
            SqliteStore::open(&data.database()).await?
        } else {
            SqliteStore::connect(&settings.storage.database_url).await?
        };
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Ok(Self {
            settings,
            data,
            store,
            worker_id: format!("pid {} at {}", std::process::id(), started.as_millis()),
            worker_lock: tokio::sync::OnceCell::new(),
            scorer: std::sync::Mutex::new(None),
            throttle: crate::throttle::Throttle::default(),
            embedding_model: std::sync::Mutex::new(None),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.data
    }

    /// The store, for read access through the port trait.
    pub fn store(&self) -> &impl MetadataStore {
        &self.store
    }

    /// Adds a folder as a library root; returns it and whether it is new.
    pub async fn add_root(&self, path: &Path) -> Result<(Root, bool)> {
        let canonical = fs_err::canonicalize(path).map_err(|e| Error::BadPath {
            path: path.to_owned(),
            reason: format!("cannot use as a library root: {e}"),
        })?;
        if !canonical.is_dir() {
            return Err(Error::BadPath {
                path: path.to_owned(),
                reason: "not a folder".to_owned(),
            });
        }
        Ok(self.store.add_root(&canonical).await?)
    }

    /// All library roots.
    pub async fn roots(&self) -> Result<Vec<Root>> {
        Ok(self.store.roots().await?)
    }

    /// Removes a root, named by id or path, with every record under it.
    pub async fn remove_root(&self, id_or_path: &str) -> Result<Root> {
        let roots = self.store.roots().await?;
        let wanted = id_or_path.parse::<i64>().ok().map(RootId);
        let path = PathBuf::from(id_or_path);
        let canonical = fs_err::canonicalize(&path).ok();
        let root = roots
            .into_iter()
            .find(|r| Some(r.id) == wanted || r.path == path || Some(&r.path) == canonical.as_ref())
            .ok_or_else(|| shoebox_core::Error::NotFound {
                what: format!("library root {id_or_path}"),
            })?;
        self.store.remove_root(root.id).await?;
        Ok(root)
    }

    /// Adds `paths` as roots (those not yet roots) and scans them; with no paths, scans every
    /// root. One scan at a time per data directory.
    pub async fn index(
        &self,
        paths: &[PathBuf],
        progress: &dyn ScanProgress,
    ) -> Result<ScanSummary> {
        let roots = if paths.is_empty() {
            self.store.roots().await?
        } else {
            let mut roots = Vec::with_capacity(paths.len());
            for path in paths {
                roots.push(self.add_root(path).await?.0);
            }
            roots
        };
        let lock_path = self.data.scan_lock();
        let lock = fs_err::File::create(&lock_path)?;
        if lock.file().try_lock().is_err() {
            return Err(Error::Busy {
                path: self.data.root().to_owned(),
            });
        }
        let scanner = Scanner::new(
            &self.store,
            self.settings.indexer.clone(),
            &self.settings.thumbnails,
            self.data.thumbnails(),
        )?;
        let summary = scanner.scan(&roots, progress).await?;
        drop(lock);
        Ok(summary)
    }

    /// Counts by status, with up to `failure_limit` failures and every folder problem.
    pub async fn status(&self, failure_limit: u32) -> Result<LibraryStatus> {
        Ok(self.store.status(failure_limit).await?)
    }

    /// One photo record.
    pub async fn photo(&self, id: PhotoId) -> Result<Option<Photo>> {
        Ok(self.store.photo(id).await?)
    }

    /// Where a photo's file is (its root's path joined with its path in the root).
    pub async fn photo_path(&self, id: PhotoId) -> Result<Option<std::path::PathBuf>> {
        let Some(photo) = self.store.photo(id).await? else {
            return Ok(None);
        };
        let roots = self.store.roots().await?;
        Ok(roots
            .iter()
            .find(|r| r.id == photo.root)
            .map(|r| r.path.join(&photo.rel_path)))
    }
}
