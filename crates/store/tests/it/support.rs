//! A fresh store per test, and records to put in it.

use std::path::{Path, PathBuf};

use shoebox_core::{
    ContentHash, Exposure, FileStamp, GpsPosition, ImageFormat, MetadataStore, PhotoId,
    PhotoMetadata, PhotoWrite, RootId, ScanOutcome, TakenAt,
};
use shoebox_store::SqliteStore;
use tempfile::TempDir;
use time::macros::{datetime, offset};

pub(crate) struct Fixture {
    pub(crate) store: SqliteStore,
    _dir: TempDir,
}

pub(crate) async fn store() -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("db/shoebox.db")).await?;
    Ok(Fixture { store, _dir: dir })
}

pub(crate) async fn root(store: &impl MetadataStore, path: &str) -> anyhow::Result<RootId> {
    Ok(store.add_root(Path::new(path)).await?.0.id)
}

/// A root `/p` with `a.jpg` and `b.jpg`; their ids in that order.
pub(crate) async fn two_photos(
    store: &impl MetadataStore,
) -> anyhow::Result<(RootId, Vec<PhotoId>)> {
    let r = root(store, "/p").await?;
    store
        .apply(vec![insert(r, "a.jpg", 1), insert(r, "b.jpg", 2)])
        .await?;
    let ids = store
        .known_photos(r)
        .await?
        .into_iter()
        .map(|k| k.id)
        .collect();
    Ok((r, ids))
}

pub(crate) fn stamp(n: i64) -> FileStamp {
    FileStamp {
        size: 1000 + n as u64,
        mtime_ns: n,
    }
}

pub(crate) fn hash(n: u8) -> ContentHash {
    ContentHash([n; 32])
}

pub(crate) fn metadata() -> PhotoMetadata {
    PhotoMetadata {
        format: ImageFormat::Jpeg,
        width: 4000,
        height: 3000,
        orientation: 6,
        taken_at: Some(TakenAt {
            local: datetime!(2019-12-31 23:59:58),
            offset: Some(offset!(-5:30)),
        }),
        gps: Some(GpsPosition {
            latitude: -33.8568,
            longitude: 151.2153,
            altitude: Some(12.5),
        }),
        camera_make: Some("FUJIFILM".to_owned()),
        camera_model: Some("X-T4".to_owned()),
        lens: Some("XF23mmF2 R WR".to_owned()),
        exposure: Exposure {
            exposure_time_s: Some(1.0 / 500.0),
            f_number: Some(2.8),
            iso: Some(160),
            focal_length_mm: Some(23.0),
        },
    }
}

pub(crate) fn insert(root: RootId, rel_path: &str, n: u8) -> PhotoWrite {
    PhotoWrite::Insert {
        root,
        rel_path: rel_path.to_owned(),
        stamp: stamp(i64::from(n)),
        hash: Some(hash(n)),
        outcome: ScanOutcome::Indexed(metadata()),
    }
}

/// New content `n` for an existing photo, read fine.
pub(crate) fn replace(id: PhotoId, n: u8) -> PhotoWrite {
    PhotoWrite::Replace {
        id,
        stamp: stamp(i64::from(n)),
        hash: Some(hash(n)),
        outcome: ScanOutcome::Indexed(metadata()),
    }
}

pub(crate) fn failed(root: RootId, rel_path: &str, reason: &str) -> PhotoWrite {
    PhotoWrite::Insert {
        root,
        rel_path: rel_path.to_owned(),
        stamp: stamp(0),
        hash: None,
        outcome: ScanOutcome::Failed {
            reason: reason.to_owned(),
        },
    }
}

pub(crate) fn path(p: &str) -> PathBuf {
    PathBuf::from(p)
}
