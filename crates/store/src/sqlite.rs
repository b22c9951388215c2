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
mod text_changes;
mod users;
mod variations;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use shoebox_core as core;
use shoebox_core::{
    ApiToken, KnownPhoto, LibraryStatus, MetadataStore, PendingPhoto, Photo, PhotoId, PhotoTag,
    PhotoWrite, Role, Root, RootId, ScanProblem, Session, SessionInfo, SmartAlbum, StoredCaption,
    StoredEmbedding, TagOnPhoto, User, VariationRecord, ZeroShotTags,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{Error, Result};

/// How long a writer waits for the database lock before giving up, unless told otherwise.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The SQLite store. Cheap to clone: it is a connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`) and migrates it;
    /// a writer waits up to `busy_timeout` for another connection's lock.
    pub async fn connect(url: &str, busy_timeout: Duration) -> Result<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .ok_or_else(|| Error::UnsupportedUrl {
                url: url.to_owned(),
            })?;
        Self::open_with(Path::new(path), busy_timeout).await
    }

    /// Opens (creating if missing) the database file at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, BUSY_TIMEOUT).await
    }

    /// [`Self::open`], a writer waiting up to `busy_timeout` for another connection's lock.
    pub async fn open_with(path: &Path, busy_timeout: Duration) -> Result<Self> {
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
            .busy_timeout(busy_timeout);
        // Two processes opening one database together (two commands started at once on a
        // new library) must not both migrate it — SQLite's migrator takes no lock — so opening
        // holds a lock file; and a new database switches to WAL under an exclusive lock that
        // SQLite's busy handler does not wait for, so a locked open tries again.
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(10);
        let lock_path = path.with_extension("db.open-lock");
        let lock = fs_err::File::create(&lock_path)?;
        while lock.file().try_lock().is_err() {
            if started.elapsed() > BUSY_TIMEOUT {
                return Err(Error::OpenLocked { url });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(500));
        }
        loop {
            let attempt = async {
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options.clone())
                    .await
                    .map_err(|source| Error::Open {
                        url: url.clone(),
                        source,
                    })?;
                sqlx::migrate!("../../migrations/sqlite").run(&pool).await?;
                Ok(pool)
            };
            match attempt.await {
                Ok(pool) => return Ok(Self { pool }),
                Err(e) if is_locked(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether opening failed because another connection held the database's lock.
fn is_locked(e: &Error) -> bool {
    let source = match e {
        Error::Open { source, .. } => source,
        Error::Migrate(sqlx::migrate::MigrateError::Execute(source)) => source,
        _ => return false,
    };
    source
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "5" || code == "6")
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

    async fn known_photos_under(&self, root: RootId, under: &str) -> core::Result<Vec<KnownPhoto>> {
        Ok(photos::known(&self.pool, root, under).await?)
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

    async fn embedding(
        &self,
        model_id: &str,
        photo: PhotoId,
    ) -> core::Result<Option<StoredEmbedding>> {
        Ok(embeddings::current(&self.pool, model_id, photo).await?)
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

    async fn live_captions(&self, photo: Option<PhotoId>) -> core::Result<Vec<StoredCaption>> {
        Ok(captions::live(&self.pool, photo).await?)
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

    async fn live_tags(&self, photo: Option<PhotoId>) -> core::Result<Vec<PhotoTag>> {
        Ok(tags::live(&self.pool, photo).await?)
    }

    async fn live_photos(&self) -> core::Result<Vec<Photo>> {
        Ok(photos::live(&self.pool).await?)
    }

    async fn photo_tags(&self, photo: PhotoId) -> core::Result<Vec<TagOnPhoto>> {
        Ok(tags::of_photo(&self.pool, photo).await?)
    }

    async fn add_user_tag(&self, photo: PhotoId, tag: &str) -> core::Result<bool> {
        Ok(tags::add_user(&self.pool, photo, tag).await?)
    }

    async fn remove_user_tag(&self, photo: PhotoId, tag: &str) -> core::Result<bool> {
        Ok(tags::remove_user(&self.pool, photo, tag).await?)
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

    async fn text_changes(&self, after: i64) -> core::Result<Option<(Vec<PhotoId>, i64)>> {
        Ok(text_changes::since(&self.pool, after).await?)
    }

    async fn text_log_end(&self) -> core::Result<i64> {
        Ok(text_changes::last(&self.pool).await?)
    }

    async fn prune_text_changes(&self, up_to: i64) -> core::Result<()> {
        Ok(text_changes::prune(&self.pool, up_to).await?)
    }

    async fn create_first_admin(
        &self,
        name: &str,
        password_hash: &str,
    ) -> core::Result<Option<User>> {
        Ok(users::create_first_admin(&self.pool, name, password_hash).await?)
    }

    async fn user_count(&self) -> core::Result<u64> {
        Ok(users::count(&self.pool).await?)
    }

    async fn user_by_name(&self, name: &str) -> core::Result<Option<(User, String)>> {
        Ok(users::by_name(&self.pool, name).await?)
    }

    async fn create_session(
        &self,
        token_hash: [u8; 32],
        user: i64,
        csrf: &str,
        expires_at: time::OffsetDateTime,
    ) -> core::Result<()> {
        Ok(users::create_session(&self.pool, token_hash, user, csrf, expires_at).await?)
    }

    async fn session(&self, token_hash: [u8; 32]) -> core::Result<Option<Session>> {
        Ok(users::session(&self.pool, token_hash).await?)
    }

    async fn delete_session(&self, token_hash: [u8; 32]) -> core::Result<()> {
        Ok(users::delete_session(&self.pool, token_hash).await?)
    }

    async fn sessions(&self, user: i64) -> core::Result<Vec<SessionInfo>> {
        Ok(users::sessions(&self.pool, user).await?)
    }

    async fn delete_user_session(&self, user: i64, token_hash: [u8; 32]) -> core::Result<bool> {
        Ok(users::delete_user_sessions(&self.pool, user, Some(token_hash)).await? > 0)
    }

    async fn delete_user_sessions(&self, user: i64) -> core::Result<u64> {
        Ok(users::delete_user_sessions(&self.pool, user, None).await?)
    }

    async fn users(&self) -> core::Result<Vec<User>> {
        Ok(users::all(&self.pool).await?)
    }

    async fn create_user(&self, name: &str, password_hash: &str, role: Role) -> core::Result<User> {
        users::create(&self.pool, name, password_hash, role).await
    }

    async fn create_api_token(
        &self,
        user: i64,
        name: &str,
        token_hash: [u8; 32],
    ) -> core::Result<ApiToken> {
        Ok(users::create_token(&self.pool, user, name, token_hash).await?)
    }

    async fn api_token_user(&self, token_hash: [u8; 32]) -> core::Result<Option<User>> {
        Ok(users::token_user(&self.pool, token_hash).await?)
    }

    async fn api_tokens(&self, user: i64) -> core::Result<Vec<ApiToken>> {
        Ok(users::tokens(&self.pool, user).await?)
    }

    async fn delete_api_token(&self, user: i64, id: i64) -> core::Result<bool> {
        Ok(users::delete_token(&self.pool, user, id).await?)
    }

    async fn add_variation(&self, variation: &VariationRecord) -> core::Result<()> {
        Ok(variations::add(&self.pool, variation).await?)
    }

    async fn variations(
        &self,
        source: PhotoId,
        generated: RootId,
    ) -> core::Result<Vec<VariationRecord>> {
        Ok(variations::of(&self.pool, source, generated).await?)
    }

    async fn generation(&self, name: &str) -> core::Result<i64> {
        Ok(embeddings::generation(&self.pool, name).await?)
    }
}
