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
    pub(crate) store: SqliteStore,
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
    /// Claims in hand, given back should the store fail before they settle.
    pub(crate) held: std::sync::Mutex<Vec<shoebox_core::Claim>>,
    /// Tags and album memberships written by the tagging handler (since `tag_library` began).
    pub(crate) tag_tally: std::sync::Mutex<crate::TagSummary>,
    /// What the live library cannot do right now, and since when.
    pub(crate) health: crate::health::Health,
}

impl Engine {
    /// Opens the library the settings name, creating the data directory and database.
    pub async fn open(settings: Settings) -> Result<Self> {
        let data = settings.data_dir();
        fs_err::create_dir_all(data.root())?;
        let busy = std::time::Duration::from_millis(settings.storage.busy_timeout_ms);
        let store = if settings.storage.database_url.is_empty() {
            SqliteStore::open_with(&data.database(), busy).await?
        } else {
            SqliteStore::connect(&settings.storage.database_url, busy).await?
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
            held: std::sync::Mutex::new(Vec::new()),
            tag_tally: std::sync::Mutex::new(crate::TagSummary::default()),
            health: crate::health::Health::default(),
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
        let whole: Vec<(Root, String)> = roots.into_iter().map(|r| (r, String::new())).collect();
        self.scan_folders(&whole, progress).await
    }

    /// Scans what changed at `paths` (files or folders, anywhere under the roots): the folder
    /// holding each, at a cost that follows those folders rather than the library. Paths
    /// outside every root are left alone.
    pub async fn index_changes(&self, paths: &[PathBuf]) -> Result<ScanSummary> {
        let folders = changed_folders(&self.store.roots().await?, paths);
        self.scan_folders(&folders, &()).await
    }

    /// Scans folders of roots under the data directory's scan lock.
    async fn scan_folders(
        &self,
        folders: &[(Root, String)],
        progress: &dyn ScanProgress,
    ) -> Result<ScanSummary> {
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
        let summary = scanner.scan_folders(folders, progress).await?;
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

/// The folders to scan for changes at `paths`: each path's folder, relative to its root (`""`
/// for the root itself), none inside another.
fn changed_folders(roots: &[Root], paths: &[PathBuf]) -> Vec<(Root, String)> {
    let mut folders: Vec<(Root, String)> = Vec::new();
    for path in paths {
        let Some((root, rel)) = roots
            .iter()
            .find_map(|r| Some((r, path.strip_prefix(&r.path).ok()?)))
        else {
            continue;
        };
        let parts: Option<Vec<&str>> = rel
            .parent()
            .into_iter()
            .flat_map(Path::components)
            .map(|c| c.as_os_str().to_str())
            .collect();
        // A name that is not UTF-8 is not indexed; its root is scanned to say so.
        let folder = parts.map(|p| p.join("/")).unwrap_or_default();
        folders.push((root.clone(), folder));
    }
    // Shorter folders first, so each is kept only when no kept one holds it.
    folders.sort_by_key(|(root, folder)| (root.id, folder.len()));
    let mut kept: Vec<(Root, String)> = Vec::new();
    for (root, folder) in folders {
        let holds = |(r, f): &(Root, String)| {
            r.id == root.id
                && (f.is_empty()
                    || *f == folder
                    || folder
                        .strip_prefix(f.as_str())
                        .is_some_and(|r| r.starts_with('/')))
        };
        if !kept.iter().any(holds) {
            kept.push((root, folder));
        }
    }
    kept.sort_by(|a, b| (a.0.id, &a.1).cmp(&(b.0.id, &b.1)));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_scan_their_folders_and_none_twice() {
        let root = |id: i64, path: &str| Root {
            id: RootId(id),
            path: PathBuf::from(path),
            added_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let roots = [root(1, "/p"), root(2, "/q")];
        let paths: Vec<PathBuf> = [
            "/p/a/b/1.jpg",
            "/p/a/2.jpg",
            "/p/ab/3.jpg",
            "/p/a/b/c",
            "/p/a-x/4.jpg",
            "/q/top.jpg",
            "/elsewhere/x.jpg",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let folders: Vec<(i64, String)> = changed_folders(&roots, &paths)
            .into_iter()
            .map(|(r, f)| (r.id.0, f))
            .collect();
        assert_eq!(
            folders,
            [
                (1, "a".to_owned()),
                (1, "a-x".to_owned()),
                (1, "ab".to_owned()),
                (2, String::new())
            ]
        );
    }
}
