//! Library roots.

use std::path::{Path, PathBuf};

use shoebox_core::{self as core, Root, RootId};
use sqlx::SqlitePool;

use super::codec::{now, parse_timestamp};
use crate::Result;
use crate::error::QueryContext;

pub(crate) async fn add(pool: &SqlitePool, path: &Path) -> core::Result<(Root, bool)> {
    let existing = list(pool).await?;
    if let Some(root) = existing.iter().find(|r| r.path == path) {
        return Ok((root.clone(), false));
    }
    if let Some(other) = existing
        .iter()
        .find(|r| r.path.starts_with(path) || path.starts_with(&r.path))
    {
        return Err(core::Error::Conflict(format!(
            "{} overlaps the library root {}; roots cannot be nested",
            path.display(),
            other.path.display()
        )));
    }
    let text = path.to_str().ok_or_else(|| {
        core::Error::Invalid(format!("root path {} is not UTF-8", path.display()))
    })?;
    let added_at = now();
    let id: i64 =
        sqlx::query_scalar("INSERT INTO roots (path, added_at) VALUES (?, ?) RETURNING id")
            .bind(text)
            .bind(&added_at)
            .fetch_one(pool)
            .await
            .context("adding a root")?;
    let root = Root {
        id: RootId(id),
        path: path.to_owned(),
        added_at: parse_timestamp(&added_at)?,
    };
    Ok((root, true))
}

pub(crate) async fn list(pool: &SqlitePool) -> Result<Vec<Root>> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, path, added_at FROM roots ORDER BY id")
            .fetch_all(pool)
            .await
            .context("listing roots")?;
    rows.into_iter()
        .map(|(id, path, added_at)| {
            Ok(Root {
                id: RootId(id),
                path: PathBuf::from(path),
                added_at: parse_timestamp(&added_at)?,
            })
        })
        .collect()
}

pub(crate) async fn remove(pool: &SqlitePool, id: RootId) -> core::Result<()> {
    let done = sqlx::query("DELETE FROM roots WHERE id = ?")
        .bind(id.0)
        .execute(pool)
        .await
        .context("removing a root")?;
    if done.rows_affected() == 0 {
        return Err(core::Error::NotFound {
            what: format!("root {id}"),
        });
    }
    Ok(())
}
