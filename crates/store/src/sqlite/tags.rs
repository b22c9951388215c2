//! Tags: zero-shot tags with the runs that scored them, and every live tag for the text index.

use shoebox_core::{PhotoId, PhotoTag, StoredEmbedding, TagOnPhoto, ZeroShotTags};
use sqlx::SqlitePool;

use super::albums;
use super::codec::now;
use super::embeddings::EmbeddingRow;
use crate::Result;
use crate::error::QueryContext;

pub(crate) async fn pending(
    pool: &SqlitePool,
    model_id: &str,
    tagger: &str,
    limit: u32,
) -> Result<Vec<StoredEmbedding>> {
    let rows: Vec<EmbeddingRow> = sqlx::query_as(
        "SELECT e.photo_id, e.content_hash, e.dim, e.vector FROM embeddings e
         JOIN photos p ON p.id = e.photo_id
         LEFT JOIN zero_shot_runs r ON r.photo_id = e.photo_id AND r.tagger = ?
             AND r.content_hash = e.content_hash
         WHERE e.model_id = ? AND p.status = 'ok' AND p.content_hash = e.content_hash
           AND r.photo_id IS NULL
         ORDER BY e.photo_id LIMIT ?",
    )
    .bind(tagger)
    .bind(model_id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("listing photos to tag")?;
    rows.into_iter().map(EmbeddingRow::into_embedding).collect()
}

pub(crate) async fn put(
    pool: &SqlitePool,
    tagger: &str,
    model_id: &str,
    scored: Vec<ZeroShotTags>,
) -> Result<()> {
    let mut tx = pool.begin().await.context("starting to store tags")?;
    let now = now();
    for photo in scored {
        sqlx::query("DELETE FROM tags WHERE photo_id = ? AND source = 'zero_shot'")
            .bind(photo.photo.0)
            .execute(&mut *tx)
            .await
            .context("replacing zero-shot tags")?;
        for (tag, score) in &photo.tags {
            sqlx::query(
                "INSERT INTO tags (photo_id, tag, source, score, model_id, created_at)
                 VALUES (?, ?, 'zero_shot', ?, ?, ?)",
            )
            .bind(photo.photo.0)
            .bind(tag)
            .bind(f64::from(*score))
            .bind(model_id)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .context("storing a zero-shot tag")?;
        }
        albums::replace_members(&mut tx, photo.photo, &photo.albums).await?;
        sqlx::query(
            "INSERT INTO zero_shot_runs (photo_id, tagger, content_hash, created_at)
             VALUES (?, ?, ?, ?)
             ON CONFLICT (photo_id) DO UPDATE SET tagger = excluded.tagger,
                 content_hash = excluded.content_hash, created_at = excluded.created_at",
        )
        .bind(photo.photo.0)
        .bind(tagger)
        .bind(photo.hash.0.to_vec())
        .bind(&now)
        .execute(&mut *tx)
        .await
        .context("recording a zero-shot run")?;
    }
    tx.commit().await.context("committing tags")
}

/// The tags that count (zero-shot ones only while scored from the photo's current content)
/// of every usable photo, or of one.
pub(crate) async fn live(pool: &SqlitePool, photo: Option<PhotoId>) -> Result<Vec<PhotoTag>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT DISTINCT t.photo_id, t.tag FROM tags t
         JOIN photos p ON p.id = t.photo_id
         WHERE p.status = 'ok' AND (?1 IS NULL OR p.id = ?1)
           AND (t.source <> 'zero_shot' OR EXISTS (
               SELECT 1 FROM zero_shot_runs r
               WHERE r.photo_id = t.photo_id AND r.content_hash = p.content_hash))
         ORDER BY t.photo_id, t.tag",
    )
    .bind(photo.map(|p| p.0))
    .fetch_all(pool)
    .await
    .context("loading tags")?;
    Ok(rows
        .into_iter()
        .map(|(photo, tag)| PhotoTag {
            photo: PhotoId(photo),
            tag,
        })
        .collect())
}

/// The tags that count on one photo (as [`live`]), with source and score.
pub(crate) async fn of_photo(pool: &SqlitePool, photo: PhotoId) -> Result<Vec<TagOnPhoto>> {
    let rows: Vec<(String, String, Option<f64>)> = sqlx::query_as(
        "SELECT t.tag, t.source, t.score FROM tags t
         JOIN photos p ON p.id = t.photo_id
         WHERE p.id = ? AND p.status = 'ok'
           AND (t.source <> 'zero_shot' OR EXISTS (
               SELECT 1 FROM zero_shot_runs r
               WHERE r.photo_id = t.photo_id AND r.content_hash = p.content_hash))
         ORDER BY t.score IS NULL, t.score DESC, t.tag",
    )
    .bind(photo.0)
    .fetch_all(pool)
    .await
    .context("loading a photo's tags")?;
    #[allow(clippy::cast_possible_truncation, reason = "stored from an f32")]
    Ok(rows
        .into_iter()
        .map(|(tag, source, score)| TagOnPhoto {
            tag,
            source,
            score: score.map(|s| s as f32),
        })
        .collect())
}

pub(crate) async fn add_user(pool: &SqlitePool, photo: PhotoId, tag: &str) -> Result<bool> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM photos WHERE id = ?")
        .bind(photo.0)
        .fetch_optional(pool)
        .await
        .context("finding a photo")?;
    if exists.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO tags (photo_id, tag, source, score, model_id, created_at)
         VALUES (?, ?, 'user', NULL, NULL, ?) ON CONFLICT (photo_id, tag, source) DO NOTHING",
    )
    .bind(photo.0)
    .bind(tag)
    .bind(now())
    .execute(pool)
    .await
    .context("adding a tag")?;
    Ok(true)
}

pub(crate) async fn remove_user(pool: &SqlitePool, photo: PhotoId, tag: &str) -> Result<bool> {
    let removed =
        sqlx::query("DELETE FROM tags WHERE photo_id = ? AND tag = ? AND source = 'user'")
            .bind(photo.0)
            .bind(tag)
            .execute(pool)
            .await
            .context("removing a tag")?
            .rows_affected();
    Ok(removed > 0)
}
