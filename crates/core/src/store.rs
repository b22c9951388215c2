//! The storage port: everything Shoebox keeps durably goes through [`MetadataStore`].

use std::future::Future;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{
    ApiToken, ContentHash, KnownPhoto, Photo, PhotoId, PhotoWrite, Result, Role, Root, RootId,
    ScanProblem, Session, SessionInfo, SmartAlbum, User, VariationRecord,
};

/// Counts and problems for `shoebox status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryStatus {
    /// Number of library roots.
    pub roots: u64,
    /// Photos read and indexed.
    pub ok: u64,
    /// Photos present but unusable.
    pub failed: u64,
    /// Photos no longer on disk.
    pub gone: u64,
    /// The failed photos and why (newest first, at most the limit asked for).
    pub failures: Vec<FailureReport>,
    /// Folder-level problems found by the last scan of each root.
    pub problems: Vec<FailureReport>,
}

/// One failure, located for a person to find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReport {
    /// The root's path.
    pub root: String,
    /// Path relative to the root.
    pub rel_path: String,
    /// Why.
    pub reason: String,
}

/// A usable photo whose embedding or caption for a model is missing or was made from older
/// content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPhoto {
    /// The photo.
    pub photo: PhotoId,
    /// Its root.
    pub root: RootId,
    /// Path relative to the root.
    pub rel_path: String,
    /// The content the embedding will be made from.
    pub hash: ContentHash,
}

/// An image embedding as stored: the content it was made from, and the unit vector.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEmbedding {
    /// The photo.
    pub photo: PhotoId,
    /// The content it was computed from.
    pub hash: ContentHash,
    /// The unit-length vector.
    pub vector: Vec<f32>,
}

/// A caption as stored: the content it was made from, its language and text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCaption {
    /// The photo.
    pub photo: PhotoId,
    /// The content it was made from.
    pub hash: ContentHash,
    /// ISO 639-1 language code, e.g. `en`.
    pub lang: String,
    /// The caption.
    pub text: String,
}

/// A photo's zero-shot tags: the content they were scored from, and each tag over the threshold
/// with its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroShotTags {
    /// The photo.
    pub photo: PhotoId,
    /// The content its embedding was made from.
    pub hash: ContentHash,
    /// Tag and probability, best first (may be empty: nothing passed the threshold).
    pub tags: Vec<(String, f32)>,
    /// The smart albums (id) it belongs to, with its similarity.
    pub albums: Vec<(i64, f32)>,
}

/// A tag on one photo as a person sees it: where it came from, and the model's confidence
/// for zero-shot tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagOnPhoto {
    /// The tag.
    pub tag: String,
    /// `zero_shot`, `user` or `exif`.
    pub source: String,
    /// The zero-shot probability.
    pub score: Option<f32>,
}

/// A tag on a usable photo (any source), as the text index needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoTag {
    /// The photo.
    pub photo: PhotoId,
    /// The tag.
    pub tag: String,
}

/// Durable storage of roots and photo records.
///
/// Implemented by `shoebox-store` (SQLite today, PostgreSQL later); every method is one
/// transaction.
pub trait MetadataStore: Send + Sync {
    /// Adds a root; `path` must be absolute and canonical. A root inside or around an
    /// existing root is a [`crate::Error::Conflict`]. Adding an existing root returns it.
    fn add_root(&self, path: &Path) -> impl Future<Output = Result<(Root, bool)>> + Send;

    /// All roots, oldest first.
    fn roots(&self) -> impl Future<Output = Result<Vec<Root>>> + Send;

    /// Removes a root and every record under it.
    fn remove_root(&self, id: RootId) -> impl Future<Output = Result<()>> + Send;

    /// Every photo record under a root, in any status.
    fn known_photos(&self, root: RootId) -> impl Future<Output = Result<Vec<KnownPhoto>>> + Send {
        self.known_photos_under(root, "")
    }

    /// Every record (any status) of `root` at or under the folder `under` (`/`-separated,
    /// relative to the root; `""` for the whole root).
    fn known_photos_under(
        &self,
        root: RootId,
        under: &str,
    ) -> impl Future<Output = Result<Vec<KnownPhoto>>> + Send;

    /// One photo record.
    fn photo(&self, id: PhotoId) -> impl Future<Output = Result<Option<Photo>>> + Send;

    /// Applies a batch of scan writes in one transaction.
    fn apply(&self, writes: Vec<PhotoWrite>) -> impl Future<Output = Result<()>> + Send;

    /// Replaces the folder-level problems recorded for a root.
    fn set_problems(
        &self,
        root: RootId,
        problems: Vec<ScanProblem>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Counts by status, with up to `failure_limit` failures listed.
    fn status(&self, failure_limit: u32) -> impl Future<Output = Result<LibraryStatus>> + Send;

    /// Up to `limit` usable photos lacking a current embedding for `model_id`, by id.
    fn pending_embeddings(
        &self,
        model_id: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PendingPhoto>>> + Send;

    /// Stores embeddings of one model in one transaction, replacing older ones.
    fn put_embeddings(
        &self,
        model_id: &str,
        embeddings: Vec<StoredEmbedding>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// A usable photo's embedding by `model_id`, when it is current.
    fn embedding(
        &self,
        model_id: &str,
        photo: PhotoId,
    ) -> impl Future<Output = Result<Option<StoredEmbedding>>> + Send;

    /// The current embeddings of every usable photo for `model_id`.
    fn live_embeddings(
        &self,
        model_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredEmbedding>>> + Send;

    /// Up to `limit` usable photos lacking a current caption by `model_id` in `lang`, by id.
    fn pending_captions(
        &self,
        model_id: &str,
        lang: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PendingPhoto>>> + Send;

    /// Stores captions of one model in one transaction, replacing older ones.
    fn put_captions(
        &self,
        model_id: &str,
        captions: Vec<StoredCaption>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The current captions (any model) of every usable photo, or of `photo` only.
    fn live_captions(
        &self,
        photo: Option<PhotoId>,
    ) -> impl Future<Output = Result<Vec<StoredCaption>>> + Send;

    /// Up to `limit` current embeddings of `model_id` whose photo's content has not been
    /// scored by `tagger` (a model and vocabulary), by photo id.
    fn pending_tagging(
        &self,
        model_id: &str,
        tagger: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEmbedding>>> + Send;

    /// Replaces the zero-shot tags and smart album memberships of each photo and records that
    /// `tagger` scored its content, in one transaction.
    fn put_zero_shot_tags(
        &self,
        tagger: &str,
        model_id: &str,
        scored: Vec<ZeroShotTags>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The tags that count on one photo, with their source and score.
    fn photo_tags(&self, photo: PhotoId) -> impl Future<Output = Result<Vec<TagOnPhoto>>> + Send;

    /// Adds a person's tag to a photo (already there: nothing changes); false when there is
    /// no such photo.
    fn add_user_tag(&self, photo: PhotoId, tag: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Removes a person's tag from a photo; whether it was there.
    fn remove_user_tag(
        &self,
        photo: PhotoId,
        tag: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Creates the smart album `name`, or redefines it.
    fn put_album(
        &self,
        name: &str,
        prompts: &[String],
        threshold: f32,
    ) -> impl Future<Output = Result<SmartAlbum>> + Send;

    /// Every smart album, by name.
    fn albums(&self) -> impl Future<Output = Result<Vec<SmartAlbum>>> + Send;

    /// Removes the smart album `name`; whether there was one.
    fn remove_album(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;

    /// The usable photos of an album (scored from their current content), best first.
    fn album_photos(&self, album: i64) -> impl Future<Output = Result<Vec<(PhotoId, f32)>>> + Send;

    /// The tags of every usable photo, or of `photo` only (zero-shot ones only while scored
    /// from its content).
    fn live_tags(
        &self,
        photo: Option<PhotoId>,
    ) -> impl Future<Output = Result<Vec<PhotoTag>>> + Send;

    /// The photos whose text document changed after change `after` of the text log, and the
    /// last change; `None` when the log no longer reaches back that far (rebuild instead).
    fn text_changes(
        &self,
        after: i64,
    ) -> impl Future<Output = Result<Option<(Vec<PhotoId>, i64)>>> + Send;

    /// The text log's last change (a full rebuild reflects every change up to it).
    fn text_log_end(&self) -> impl Future<Output = Result<i64>> + Send;

    /// Forgets the text log's changes up to `up_to` (the text index has them).
    fn prune_text_changes(&self, up_to: i64) -> impl Future<Output = Result<()>> + Send;

    /// Every usable photo.
    fn live_photos(&self) -> impl Future<Output = Result<Vec<Photo>>> + Send;

    /// Creates the first user, an admin, unless a user exists already (then `None`): the
    /// first-run setup, safe against two at once.
    fn create_first_admin(
        &self,
        name: &str,
        password_hash: &str,
    ) -> impl Future<Output = Result<Option<User>>> + Send;

    /// How many users there are.
    fn user_count(&self) -> impl Future<Output = Result<u64>> + Send;

    /// The user `name` with their password hash.
    fn user_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<(User, String)>>> + Send;

    /// Starts a session for `user`, known by the SHA-256 of its token, until `expires_at`.
    fn create_session(
        &self,
        token_hash: [u8; 32],
        user: i64,
        csrf: &str,
        expires_at: time::OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The live (unexpired) session whose token hashes to `token_hash`.
    fn session(&self, token_hash: [u8; 32])
    -> impl Future<Output = Result<Option<Session>>> + Send;

    /// Ends a session.
    fn delete_session(&self, token_hash: [u8; 32]) -> impl Future<Output = Result<()>> + Send;

    /// A user's live sessions, newest first.
    fn sessions(&self, user: i64) -> impl Future<Output = Result<Vec<SessionInfo>>> + Send;

    /// Ends one of `user`'s sessions; whether it existed.
    fn delete_user_session(
        &self,
        user: i64,
        token_hash: [u8; 32],
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Ends every session of `user` (signs them out everywhere); how many there were.
    fn delete_user_sessions(&self, user: i64) -> impl Future<Output = Result<u64>> + Send;

    /// Every user, by id.
    fn users(&self) -> impl Future<Output = Result<Vec<User>>> + Send;

    /// Creates a user (not the first: see [`Self::create_first_admin`]); a taken name is a
    /// [`crate::Error::Conflict`].
    fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
    ) -> impl Future<Output = Result<User>> + Send;

    /// Makes an API token for `user`, known by the SHA-256 of the token.
    fn create_api_token(
        &self,
        user: i64,
        name: &str,
        token_hash: [u8; 32],
    ) -> impl Future<Output = Result<ApiToken>> + Send;

    /// The user whose API token hashes to `token_hash`.
    fn api_token_user(
        &self,
        token_hash: [u8; 32],
    ) -> impl Future<Output = Result<Option<User>>> + Send;

    /// A user's API tokens, oldest first.
    fn api_tokens(&self, user: i64) -> impl Future<Output = Result<Vec<ApiToken>>> + Send;

    /// Revokes one of a user's API tokens; whether it existed.
    fn delete_api_token(&self, user: i64, id: i64) -> impl Future<Output = Result<bool>> + Send;

    /// Records a variation Stable Diffusion made (its `photo` and `created_at` are ignored).
    fn add_variation(&self, variation: &VariationRecord)
    -> impl Future<Output = Result<()>> + Send;

    /// The variations made from `source`, oldest first, each with the live photo the scan
    /// recorded for its file under `generated` (the generated folder's root), if any yet.
    fn variations(
        &self,
        source: PhotoId,
        generated: RootId,
    ) -> impl Future<Output = Result<Vec<VariationRecord>>> + Send;

    /// A change counter of the data a derived index is built from (`photos`, `text`,
    /// `vector:MODEL`); 0 before any change.
    fn generation(&self, name: &str) -> impl Future<Output = Result<i64>> + Send;
}
