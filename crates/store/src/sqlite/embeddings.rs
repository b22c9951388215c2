//! Image embeddings per photo and model, and the change counters of the derived indices.

use shoebox_core::{ContentHash, PendingPhoto, PhotoId, RootId, StoredEmbedding};
use sqlx::SqlitePool;

use super::codec::now;
use crate::error::QueryContext;
use crate::{Error, Result};

/// A photo awaiting derived data (an embedding, a caption).
#[derive(sqlx::FromRow)]
pub(crate) struct PendingRow {
    id: i64,
    root_id: i64,
    rel_path: String,
    content_hash: Vec<u8>,
}

/// A stored embedding as read.
#[derive(sqlx::FromRow)]
pub(crate) struct EmbeddingRow {
    photo_id: i64,
    content_hash: Vec<u8>,
    dim: i64,
    vector: Vec<u8>,
}

pub(crate) fn hash(blob: &[u8]) -> Result<ContentHash> {
    ContentHash::try_from(blob).map_err(|e| Error::Corrupt(e.to_string()))
}

impl PendingRow {
    pub(crate) fn into_pending(self) -> Result<PendingPhoto> {
        Ok(PendingPhoto {
            photo: PhotoId(self.id),
            root: RootId(self.root_id),
            rel_path: self.rel_path,
            hash: hash(&self.content_hash)?,
        })
    }
}

pub(crate) async fn pending(
    pool: &SqlitePool,
    model_id: &str,
    limit: u32,
) -> Result<Vec<PendingPhoto>> {
    let rows: Vec<PendingRow> = sqlx::query_as(
        "SELECT p.id, p.root_id, p.rel_path, p.content_hash FROM photos p
         LEFT JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ?
         WHERE p.status = 'ok' AND p.content_hash IS NOT NULL
           AND (e.photo_id IS NULL OR e.content_hash <> p.content_hash)
         ORDER BY p.id LIMIT ?",
    )
    .bind(model_id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("listing photos to embed")?;
    rows.into_iter().map(PendingRow::into_pending).collect()
}

pub(crate) async fn put(
    pool: &SqlitePool,
    model_id: &str,
    embeddings: Vec<StoredEmbedding>,
) -> Result<()> {
    let mut tx = pool.begin().await.context("starting to store embeddings")?;
    let now = now();
    for e in embeddings {
        let bytes: Vec<u8> = e.vector.iter().flat_map(|v| v.to_le_bytes()).collect();
        let dim = i64::try_from(e.vector.len())
            .map_err(|_| Error::Corrupt(format!("embedding of {} values", e.vector.len())))?;
        sqlx::query(
            // A replacement, not an update: the insert trigger enqueues the tagging.
            "INSERT OR REPLACE INTO embeddings
                 (photo_id, model_id, dim, vector, content_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(e.photo.0)
        .bind(model_id)
        .bind(dim)
        .bind(bytes)
        .bind(e.hash.0.to_vec())
        .bind(&now)
        .execute(&mut *tx)
        .await
        .context("storing an embedding")?;
    }
    tx.commit().await.context("committing embeddings")
}

pub(crate) async fn live(pool: &SqlitePool, model_id: &str) -> Result<Vec<StoredEmbedding>> {
    let rows: Vec<EmbeddingRow> = sqlx::query_as(
        "SELECT e.photo_id, e.content_hash, e.dim, e.vector FROM embeddings e
         JOIN photos p ON p.id = e.photo_id
         WHERE e.model_id = ? AND p.status = 'ok' AND p.content_hash = e.content_hash
         ORDER BY e.photo_id",
    )
    .bind(model_id)
    .fetch_all(pool)
    .await
    .context("loading embeddings")?;
    rows.into_iter().map(EmbeddingRow::into_embedding).collect()
}

pub(crate) async fn current(
    pool: &SqlitePool,
    model_id: &str,
    photo: PhotoId,
) -> Result<Option<StoredEmbedding>> {
    let row: Option<EmbeddingRow> = sqlx::query_as(
        "SELECT e.photo_id, e.content_hash, e.dim, e.vector FROM embeddings e
         JOIN photos p ON p.id = e.photo_id
         WHERE e.model_id = ? AND e.photo_id = ? AND p.status = 'ok'
             AND p.content_hash = e.content_hash",
    )
    .bind(model_id)
    .bind(photo.0)
    .fetch_optional(pool)
    .await
    .context("loading an embedding")?;
    row.map(EmbeddingRow::into_embedding).transpose()
}

impl EmbeddingRow {
    pub(crate) fn into_embedding(self) -> Result<StoredEmbedding> {
        if usize::try_from(self.dim).ok().map(|d| d * 4) != Some(self.vector.len()) {
            return Err(Error::Corrupt(format!(
                "embedding of photo {} has {} bytes for {} dimensions",
                self.photo_id,
                self.vector.len(),
                self.dim
            )));
        }
        let vector = self
            .vector
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(StoredEmbedding {
            photo: PhotoId(self.photo_id),
            hash: hash(&self.content_hash)?,
            vector,
        })
    }
}

pub(crate) async fn generation(pool: &SqlitePool, name: &str) -> Result<i64> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT generation FROM index_generations WHERE name = ?")
            .bind(name)
            .fetch_optional(pool)
            .await
            .context("reading an index generation")?;
    Ok(row.map_or(0, |(g,)| g))
}
