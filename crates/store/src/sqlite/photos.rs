//! Photo records: what a scan reads and writes.

use shoebox_core::{
    FileStamp, KnownPhoto, Photo, PhotoId, PhotoStatus, PhotoWrite, RootId, ScanOutcome,
};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::codec::{MetadataColumns, hash_from_blob, now, parse_timestamp};
use crate::error::QueryContext;
use crate::{Error, Result};

#[derive(sqlx::FromRow)]
struct KnownRow {
    id: i64,
    root_id: i64,
    rel_path: String,
    size: i64,
    mtime_ns: i64,
    content_hash: Option<Vec<u8>>,
    status: String,
    indexed: bool,
}

#[derive(sqlx::FromRow)]
struct PhotoRow {
    id: i64,
    root_id: i64,
    rel_path: String,
    size: i64,
    mtime_ns: i64,
    content_hash: Option<Vec<u8>>,
    status: String,
    error: Option<String>,
    first_seen: String,
    last_seen: String,
    #[sqlx(flatten)]
    metadata: MetadataColumns,
}

fn stamp(size: i64, mtime_ns: i64) -> Result<FileStamp> {
    let size = u64::try_from(size).map_err(|_| Error::Corrupt(format!("file size {size}")))?;
    Ok(FileStamp { size, mtime_ns })
}

fn status(s: &str) -> Result<PhotoStatus> {
    s.parse()
        .map_err(|_| Error::Corrupt(format!("photo status {s:?}")))
}

pub(crate) async fn known(pool: &SqlitePool, root: RootId, under: &str) -> Result<Vec<KnownPhoto>> {
    // The paths under a folder are those from "folder/" up to "folder0" ('0' follows '/'),
    // a range the (root_id, rel_path) index reads.
    let rows: Vec<KnownRow> = sqlx::query_as(
        "SELECT id, root_id, rel_path, size, mtime_ns, content_hash, status,
                format IS NOT NULL AS indexed
         FROM photos WHERE root_id = ? AND (? = '' OR (rel_path >= ? AND rel_path < ?))
         ORDER BY id",
    )
    .bind(root.0)
    .bind(under)
    .bind(format!("{under}/"))
    .bind(format!("{under}0"))
    .fetch_all(pool)
    .await
    .context("loading known photos")?;
    rows.into_iter()
        .map(|r| {
            Ok(KnownPhoto {
                id: PhotoId(r.id),
                root: RootId(r.root_id),
                rel_path: r.rel_path,
                stamp: stamp(r.size, r.mtime_ns)?,
                hash: hash_from_blob(r.content_hash)?,
                status: status(&r.status)?,
                indexed: r.indexed,
            })
        })
        .collect()
}

pub(crate) async fn get(pool: &SqlitePool, id: PhotoId) -> Result<Option<Photo>> {
    let row: Option<PhotoRow> = sqlx::query_as("SELECT * FROM photos WHERE id = ?")
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .context("loading a photo")?;
    row.map(photo).transpose()
}

pub(crate) async fn live(pool: &SqlitePool) -> Result<Vec<Photo>> {
    let rows: Vec<PhotoRow> =
        sqlx::query_as("SELECT * FROM photos WHERE status = 'ok' ORDER BY id")
            .fetch_all(pool)
            .await
            .context("loading live photos")?;
    rows.into_iter().map(photo).collect()
}

fn photo(r: PhotoRow) -> Result<Photo> {
    Ok(Photo {
        id: PhotoId(r.id),
        root: RootId(r.root_id),
        rel_path: r.rel_path,
        stamp: stamp(r.size, r.mtime_ns)?,
        hash: hash_from_blob(r.content_hash)?,
        status: status(&r.status)?,
        error: r.error,
        metadata: r.metadata.into_metadata()?,
        first_seen: parse_timestamp(&r.first_seen)?,
        last_seen: parse_timestamp(&r.last_seen)?,
    })
}

/// Status, error and metadata columns for a scan outcome.
fn outcome_columns(outcome: &ScanOutcome) -> (&'static str, Option<&str>, MetadataColumns) {
    match outcome {
        ScanOutcome::Indexed(m) => (PhotoStatus::Ok.as_str(), None, MetadataColumns::from(m)),
        ScanOutcome::Failed { reason } => (
            PhotoStatus::Failed.as_str(),
            Some(reason),
            MetadataColumns::default(),
        ),
    }
}

fn size(stamp: FileStamp) -> Result<i64> {
    i64::try_from(stamp.size).map_err(|_| Error::Corrupt(format!("file size {}", stamp.size)))
}

pub(crate) async fn apply(pool: &SqlitePool, writes: Vec<PhotoWrite>) -> Result<()> {
    let mut tx = pool.begin().await.context("starting a scan batch")?;
    let now = now();
    // Gone marks and moves first: they free paths that inserts in this batch may take.
    // Moving records are parked as gone so that two records may swap paths.
    for w in &writes {
        match w {
            PhotoWrite::MarkGone { id } | PhotoWrite::Move { id, .. } => {
                park(&mut tx, *id, &now).await?
            }
            _ => {}
        }
    }
    for w in &writes {
        if let PhotoWrite::Move {
            id,
            root,
            rel_path,
            stamp,
        } = w
        {
            sqlx::query(
                "UPDATE photos SET root_id = ?, rel_path = ?, size = ?, mtime_ns = ?,
                        status = 'ok', error = NULL, last_seen = ?, updated_at = ?
                 WHERE id = ?",
            )
            .bind(root.0)
            .bind(rel_path)
            .bind(size(*stamp)?)
            .bind(stamp.mtime_ns)
            .bind(&now)
            .bind(&now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .context("moving a photo")?;
        }
    }
    for w in writes {
        match w {
            PhotoWrite::Touch { id, stamp } => {
                sqlx::query("UPDATE photos SET size = ?, mtime_ns = ?, last_seen = ? WHERE id = ?")
                    .bind(size(stamp)?)
                    .bind(stamp.mtime_ns)
                    .bind(&now)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .context("touching a photo")?;
            }
            PhotoWrite::Replace {
                id,
                stamp,
                hash,
                outcome,
            } => {
                let (status, error, metadata) = outcome_columns(&outcome);
                let q = sqlx::query(
                    "UPDATE photos SET size = ?, mtime_ns = ?, content_hash = ?, status = ?, error = ?,
                            last_seen = ?, updated_at = ?,
                            format = ?, width = ?, height = ?, orientation = ?,
                            taken_at_local = ?, taken_at_offset = ?, taken_at_utc = ?,
                            gps_lat = ?, gps_lon = ?, gps_alt = ?, camera_make = ?, camera_model = ?,
                            lens = ?, exposure_time_s = ?, f_number = ?, iso = ?, focal_length_mm = ?
                     WHERE id = ?",
                )
                .bind(size(stamp)?)
                .bind(stamp.mtime_ns)
                .bind(hash.map(|h| h.0.to_vec()))
                .bind(status)
                .bind(error)
                .bind(&now)
                .bind(&now);
                metadata
                    .bind(q)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .context("replacing a photo")?;
            }
            PhotoWrite::Insert {
                root,
                rel_path,
                stamp,
                hash,
                outcome,
            } => {
                let (status, error, metadata) = outcome_columns(&outcome);
                let q = sqlx::query(
                    "INSERT INTO photos (root_id, rel_path, size, mtime_ns, content_hash, status, error,
                            first_seen, last_seen, updated_at,
                            format, width, height, orientation,
                            taken_at_local, taken_at_offset, taken_at_utc,
                            gps_lat, gps_lon, gps_alt, camera_make, camera_model,
                            lens, exposure_time_s, f_number, iso, focal_length_mm)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(root.0)
                .bind(rel_path)
                .bind(size(stamp)?)
                .bind(stamp.mtime_ns)
                .bind(hash.map(|h| h.0.to_vec()))
                .bind(status)
                .bind(error)
                .bind(&now)
                .bind(&now)
                .bind(&now);
                metadata
                    .bind(q)
                    .execute(&mut *tx)
                    .await
                    .context("inserting a photo")?;
            }
            PhotoWrite::MarkGone { .. } | PhotoWrite::Move { .. } => {}
        }
    }
    tx.commit().await.context("committing a scan batch")
}

async fn park(tx: &mut Transaction<'static, Sqlite>, id: PhotoId, now: &str) -> Result<()> {
    sqlx::query("UPDATE photos SET status = 'gone', updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(id.0)
        .execute(&mut **tx)
        .await
        .context("marking a photo gone")?;
    Ok(())
}
