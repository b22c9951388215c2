//! Captions per photo, model and language.

use shoebox_core::{PendingPhoto, PhotoId, StoredCaption};
use sqlx::SqlitePool;

use super::codec::now;
use super::embeddings::{PendingRow, hash};
use crate::Result;
use crate::error::QueryContext;

#[derive(sqlx::FromRow)]
struct CaptionRow {
    photo_id: i64,
    content_hash: Vec<u8>,
    lang: String,
    text: String,
}

pub(crate) async fn pending(
    pool: &SqlitePool,
    model_id: &str,
    lang: &str,
    limit: u32,
) -> Result<Vec<PendingPhoto>> {
    let rows: Vec<PendingRow> = sqlx::query_as(
        "SELECT p.id, p.root_id, p.rel_path, p.content_hash FROM photos p
         LEFT JOIN captions c ON c.photo_id = p.id AND c.model_id = ? AND c.lang = ?
         WHERE p.status = 'ok' AND p.content_hash IS NOT NULL
           AND (c.photo_id IS NULL OR c.content_hash <> p.content_hash)
         ORDER BY p.id LIMIT ?",
    )
    .bind(model_id)
    .bind(lang)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("listing photos to caption")?;
    rows.into_iter().map(PendingRow::into_pending).collect()
}

pub(crate) async fn put(
    pool: &SqlitePool,
    model_id: &str,
    captions: Vec<StoredCaption>,
) -> Result<()> {
    let mut tx = pool.begin().await.context("starting to store captions")?;
    let now = now();
    for c in captions {
        sqlx::query(
            "INSERT INTO captions (photo_id, model_id, lang, text, content_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (photo_id, model_id, lang) DO UPDATE SET text = excluded.text,
                 content_hash = excluded.content_hash, created_at = excluded.created_at",
        )
        .bind(c.photo.0)
        .bind(model_id)
        .bind(&c.lang)
        .bind(&c.text)
        .bind(c.hash.0.to_vec())
        .bind(&now)
        .execute(&mut *tx)
        .await
        .context("storing a caption")?;
    }
    tx.commit().await.context("committing captions")
}

/// The captions that count (for the photo's current content) of every usable photo, or of one.
pub(crate) async fn live(pool: &SqlitePool, photo: Option<PhotoId>) -> Result<Vec<StoredCaption>> {
    let rows: Vec<CaptionRow> = sqlx::query_as(
        "SELECT c.photo_id, c.content_hash, c.lang, c.text FROM captions c
         JOIN photos p ON p.id = c.photo_id
         WHERE p.status = 'ok' AND p.content_hash = c.content_hash
           AND (?1 IS NULL OR p.id = ?1)
         ORDER BY c.photo_id, c.lang, c.model_id",
    )
    .bind(photo.map(|p| p.0))
    .fetch_all(pool)
    .await
    .context("loading captions")?;
    rows.into_iter()
        .map(|r| {
            Ok(StoredCaption {
                photo: PhotoId(r.photo_id),
                hash: hash(&r.content_hash)?,
                lang: r.lang,
                text: r.text,
            })
        })
        .collect()
}
