//! [`SqliteStore`]: the embedded default backend.

mod albums;
mod captions;
mod codec;
mod embeddings;
mod jobs;
mod photos;
mod roots;
mod status;
mod tags;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use shoebox_core as core;
use shoebox_core::{
    Job, JobCounts, JobFailure, JobKind, KnownPhoto, LibraryStatus, MetadataStore, NewJob,
    PendingPhoto, Photo, PhotoId, PhotoTag, PhotoWrite, Root, RootId, ScanProblem, SmartAlbum,
    StoredCaption, StoredEmbedding, ZeroShotTags,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{Error, Result};

/// How long a writer waits for the database lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The SQLite store. Cheap to clone: it is a connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn connect(url: &str) -> Result<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .ok_or_else(|| Error::UnsupportedUrl {
                url: url.to_owned(),
            })?;
        Self::open(Path::new(path)).await
    }

    /// Opens (creating if missing) the database file at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs_err::create_dir_all(dir)?;
        }
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|source| Error::Open {
                url: url.clone(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| Error::Open { url, source })?;
        sqlx::migrate!("../../migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

impl MetadataStore for SqliteStore {
    async fn add_root(&self, path: &Path) -> core::Result<(Root, bool)> {
        roots::add(&self.pool, path).await
    }

    async fn roots(&self) -> core::Result<Vec<Root>> {
        Ok(roots::list(&self.pool).await?)
    }

    async fn remove_root(&self, id: RootId) -> core::Result<()> {
        roots::remove(&self.pool, id).await
    }

    async fn known_photos(&self, root: RootId) -> core::Result<Vec<KnownPhoto>> {
        Ok(photos::known(&self.pool, root).await?)
    }

    async fn photo(&self, id: PhotoId) -> core::Result<Option<Photo>> {
        Ok(photos::get(&self.pool, id).await?)
    }

    async fn apply(&self, writes: Vec<PhotoWrite>) -> core::Result<()> {
        Ok(photos::apply(&self.pool, writes).await?)
    }

    async fn set_problems(&self, root: RootId, problems: Vec<ScanProblem>) -> core::Result<()> {
        Ok(status::set_problems(&self.pool, root, problems).await?)
    }

    async fn status(&self, failure_limit: u32) -> core::Result<LibraryStatus> {
        Ok(status::status(&self.pool, failure_limit).await?)
    }

    async fn pending_embeddings(
        &self,
        model_id: &str,
        limit: u32,
    ) -> core::Result<Vec<PendingPhoto>> {
        Ok(embeddings::pending(&self.pool, model_id, limit).await?)
    }

    async fn put_embeddings(
        &self,
        model_id: &str,
        items: Vec<StoredEmbedding>,
    ) -> core::Result<()> {
        Ok(embeddings::put(&self.pool, model_id, items).await?)
    }

    async fn live_embeddings(&self, model_id: &str) -> core::Result<Vec<StoredEmbedding>> {
        Ok(embeddings::live(&self.pool, model_id).await?)
    }

    async fn pending_captions(
        &self,
        model_id: &str,
        lang: &str,
        limit: u32,
    ) -> core::Result<Vec<PendingPhoto>> {
        Ok(captions::pending(&self.pool, model_id, lang, limit).await?)
    }

    async fn put_captions(&self, model_id: &str, items: Vec<StoredCaption>) -> core::Result<()> {
        Ok(captions::put(&self.pool, model_id, items).await?)
    }

    async fn live_captions(&self) -> core::Result<Vec<StoredCaption>> {
        Ok(captions::live(&self.pool).await?)
    }

    async fn pending_tagging(
        &self,
        model_id: &str,
        tagger: &str,
        limit: u32,
    ) -> core::Result<Vec<StoredEmbedding>> {
        Ok(tags::pending(&self.pool, model_id, tagger, limit).await?)
    }

    async fn put_zero_shot_tags(
        &self,
        tagger: &str,
        model_id: &str,
        scored: Vec<ZeroShotTags>,
    ) -> core::Result<()> {
        Ok(tags::put(&self.pool, tagger, model_id, scored).await?)
    }

    async fn live_tags(&self) -> core::Result<Vec<PhotoTag>> {
        Ok(tags::live(&self.pool).await?)
    }

    async fn live_photos(&self) -> core::Result<Vec<Photo>> {
        Ok(photos::live(&self.pool).await?)
    }

    async fn put_album(
        &self,
        name: &str,
        prompts: &[String],
        threshold: f32,
    ) -> core::Result<SmartAlbum> {
        Ok(albums::put(&self.pool, name, prompts, threshold).await?)
    }

    async fn albums(&self) -> core::Result<Vec<SmartAlbum>> {
        Ok(albums::list(&self.pool).await?)
    }

    async fn remove_album(&self, name: &str) -> core::Result<bool> {
        Ok(albums::remove(&self.pool, name).await?)
    }

    async fn album_photos(&self, album: i64) -> core::Result<Vec<(PhotoId, f32)>> {
        Ok(albums::photos(&self.pool, album).await?)
    }

    async fn enqueue_jobs(&self, kind: JobKind, items: Vec<NewJob>) -> core::Result<u64> {
        Ok(jobs::enqueue(&self.pool, kind, items).await?)
    }

    async fn claim_jobs(
        &self,
        kind: JobKind,
        scope: &str,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> core::Result<Vec<Job>> {
        Ok(jobs::claim(&self.pool, kind, scope, owner, limit, lease).await?)
    }

    async fn complete_jobs(&self, ids: Vec<i64>) -> core::Result<()> {
        Ok(jobs::complete(&self.pool, ids).await?)
    }

    async fn fail_job(
        &self,
        id: i64,
        reason: &str,
        retry_in: Option<Duration>,
    ) -> core::Result<()> {
        Ok(jobs::fail(&self.pool, id, reason, retry_in).await?)
    }

    async fn release_jobs(&self, owner: &str) -> core::Result<u64> {
        Ok(jobs::release(&self.pool, owner).await?)
    }

    async fn job_counts(&self) -> core::Result<Vec<JobCounts>> {
        Ok(jobs::counts(&self.pool).await?)
    }

    async fn job_failures(&self, limit: u32) -> core::Result<Vec<JobFailure>> {
        Ok(jobs::failures(&self.pool, limit).await?)
    }

    async fn generation(&self, name: &str) -> core::Result<i64> {
        Ok(embeddings::generation(&self.pool, name).await?)
    }
}
