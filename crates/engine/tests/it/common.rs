//! Helpers: a library in a temporary folder, and views of the store and the disk to compare.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shoebox_core::{ContentHash, KnownPhoto, MetadataStore, PhotoStatus, Root};
use shoebox_engine::{Engine, ScanSummary, Settings};
use tempfile::TempDir;

pub(crate) struct Library {
    pub(crate) engine: Engine,
    pub(crate) photos: PathBuf,
    _dir: TempDir,
}

impl Library {
    pub(crate) async fn new() -> anyhow::Result<Self> {
        Self::with(|_| {}).await
    }

    pub(crate) async fn with(tweak: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let photos = dir.path().join("photos");
        fs_err::create_dir_all(&photos)?;
        let mut settings = Settings::default();
        settings.storage.data_dir = dir.path().join("data");
        settings.indexer.batch_size = 4;
        tweak(&mut settings);
        let engine = Engine::open(settings).await?;
        Ok(Self {
            engine,
            photos,
            _dir: dir,
        })
    }

    /// The same library opened again by a new engine, as after a restart.
    pub(crate) async fn reopen(self) -> anyhow::Result<Self> {
        let settings = self.engine.settings().clone();
        drop(self.engine);
        Ok(Self {
            engine: Engine::open(settings).await?,
            photos: self.photos,
            _dir: self._dir,
        })
    }

    pub(crate) async fn scan(&self) -> anyhow::Result<ScanSummary> {
        Ok(self
            .engine
            .index(std::slice::from_ref(&self.photos), &())
            .await?)
    }

    /// Scans every root without naming one (as `shoebox index` with no path does).
    pub(crate) async fn scan_all(&self) -> anyhow::Result<ScanSummary> {
        Ok(self.engine.index(&[], &()).await?)
    }

    pub(crate) async fn root(&self) -> anyhow::Result<Root> {
        let roots = self.engine.roots().await?;
        roots
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no root"))
    }

    /// Every record, keyed by path.
    pub(crate) async fn records(&self) -> anyhow::Result<Vec<KnownPhoto>> {
        let root = self.root().await?;
        Ok(self.engine.store().known_photos(root.id).await?)
    }

    /// The live records (not gone): path → record.
    pub(crate) async fn live(&self) -> anyhow::Result<BTreeMap<String, KnownPhoto>> {
        Ok(self
            .records()
            .await?
            .into_iter()
            .filter(|r| r.status != PhotoStatus::Gone)
            .map(|r| (r.rel_path.clone(), r))
            .collect())
    }

    pub(crate) async fn record(&self, rel_path: &str) -> anyhow::Result<KnownPhoto> {
        self.live()
            .await?
            .remove(rel_path)
            .ok_or_else(|| anyhow::anyhow!("no live record for {rel_path}"))
    }

    pub(crate) fn put(&self, rel: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        shoebox_testkit::put(&self.photos, rel, bytes)
    }

    pub(crate) fn thumbnail(&self, size: u32, hash: &ContentHash) -> PathBuf {
        shoebox_engine::thumbnail_path(&self.engine.data_dir().thumbnails(), size, hash)
    }
}

/// The regular, non-hidden files under `root`: path → BLAKE3 of the content.
pub(crate) fn disk(root: &Path) -> anyhow::Result<BTreeMap<String, ContentHash>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if entry.file_type()?.is_file() {
                let rel = path
                    .strip_prefix(root)?
                    .to_string_lossy()
                    .replace('\\', "/");
                let hash = ContentHash(*blake3::hash(&fs_err::read(&path)?).as_bytes());
                out.insert(rel, hash);
            }
        }
    }
    Ok(out)
}

/// Asserts the live records are exactly the files on disk, each with its content hash, and
/// every path recorded once.
pub(crate) async fn assert_store_matches_disk(lib: &Library) -> anyhow::Result<()> {
    let records = lib.records().await?;
    let live: Vec<&KnownPhoto> = records
        .iter()
        .filter(|r| r.status != PhotoStatus::Gone)
        .collect();
    let stored: BTreeMap<String, Option<ContentHash>> =
        live.iter().map(|r| (r.rel_path.clone(), r.hash)).collect();
    assert_eq!(stored.len(), live.len(), "a path is recorded twice");
    let on_disk: BTreeMap<String, Option<ContentHash>> = disk(&lib.photos)?
        .into_iter()
        .map(|(p, h)| (p, Some(h)))
        .collect();
    assert_eq!(stored, on_disk);
    Ok(())
}
