//! Smart albums: their definitions, and the members the tagging stage scored.

use shoebox_core::{PhotoId, SmartAlbum};
use sqlx::SqlitePool;

use super::codec::now;
use crate::error::QueryContext;
use crate::{Error, Result};

#[derive(sqlx::FromRow)]
struct AlbumRow {
    id: i64,
    name: String,
    prompts: String,
    threshold: f64,
}

impl From<AlbumRow> for SmartAlbum {
    fn from(r: AlbumRow) -> Self {
        #[allow(clippy::cast_possible_truncation, reason = "stored from an f32")]
        let threshold = r.threshold as f32;
        Self {
            id: r.id,
            name: r.name,
            prompts: r.prompts.lines().map(str::to_owned).collect(),
            threshold,
        }
    }
}

pub(crate) async fn put(
    pool: &SqlitePool,
    name: &str,
    prompts: &[String],
    threshold: f32,
) -> Result<SmartAlbum> {
    if prompts.iter().any(|p| p.contains('\n')) {
        return Err(Error::Corrupt("a prompt with a line break".to_owned()));
    }
    let now = now();
    let row: AlbumRow = sqlx::query_as(
        "INSERT INTO smart_albums (name, prompts, threshold, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET prompts = excluded.prompts,
             threshold = excluded.threshold, updated_at = excluded.updated_at
         RETURNING id, name, prompts, threshold",
    )
    .bind(name)
    .bind(prompts.join("\n"))
    .bind(f64::from(threshold))
    .bind(&now)
    .bind(&now)
    .fetch_one(pool)
    .await
    .context("storing a smart album")?;
    Ok(row.into())
}

pub(crate) async fn list(pool: &SqlitePool) -> Result<Vec<SmartAlbum>> {
    let rows: Vec<AlbumRow> =
        sqlx::query_as("SELECT id, name, prompts, threshold FROM smart_albums ORDER BY name")
            .fetch_all(pool)
            .await
            .context("listing smart albums")?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(crate) async fn remove(pool: &SqlitePool, name: &str) -> Result<bool> {
    let removed = sqlx::query("DELETE FROM smart_albums WHERE name = ?")
        .bind(name)
        .execute(pool)
        .await
        .context("removing a smart album")?
        .rows_affected();
    Ok(removed > 0)
}

pub(crate) async fn photos(pool: &SqlitePool, album: i64) -> Result<Vec<(PhotoId, f32)>> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT a.photo_id, a.score FROM album_photos a
         JOIN photos p ON p.id = a.photo_id
         JOIN zero_shot_runs r ON r.photo_id = a.photo_id AND r.content_hash = p.content_hash
         WHERE a.album_id = ? AND p.status = 'ok'
         ORDER BY a.score DESC, a.photo_id",
    )
    .bind(album)
    .fetch_all(pool)
    .await
    .context("listing an album's photos")?;
    #[allow(clippy::cast_possible_truncation, reason = "stored from an f32")]
    Ok(rows
        .into_iter()
        .map(|(photo, score)| (PhotoId(photo), score as f32))
        .collect())
}

/// Replaces one photo's memberships, inside the tagging transaction.
pub(crate) async fn replace_members(
    tx: &mut sqlx::SqliteConnection,
    photo: PhotoId,
    albums: &[(i64, f32)],
) -> Result<()> {
    sqlx::query("DELETE FROM album_photos WHERE photo_id = ?")
        .bind(photo.0)
        .execute(&mut *tx)
        .await
        .context("replacing album memberships")?;
    for (album, score) in albums {
        sqlx::query("INSERT INTO album_photos (album_id, photo_id, score) VALUES (?, ?, ?)")
            .bind(album)
            .bind(photo.0)
            .bind(f64::from(*score))
            .execute(&mut *tx)
            .await
            .context("storing an album membership")?;
    }
    Ok(())
}
