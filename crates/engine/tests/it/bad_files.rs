//! Bad input: every kind of unusable file is recorded with a clear reason and the scan goes on.

use shoebox_core::{MetadataStore, PhotoStatus};
use shoebox_testkit::{fixture, jpeg, png};

use crate::common::Library;

/// The failure reason recorded for `rel_path`.
async fn reason(lib: &Library, rel_path: &str) -> anyhow::Result<String> {
    let record = lib.record(rel_path).await?;
    assert_eq!(record.status, PhotoStatus::Failed, "{rel_path} failed");
    let photo = lib
        .engine
        .photo(record.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no photo"))?;
    Ok(photo.error.unwrap_or_default())
}

/// A PNG whose header claims `width` × `height`, with a valid header checksum.
fn png_claiming(width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let mut bytes = png(4, 4, 1)?;
    // Signature (8), IHDR length (4), "IHDR" (4), then width and height.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    Ok(bytes)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn each_bad_file_gets_a_reason_and_the_scan_goes_on() -> anyhow::Result<()> {
    let lib = Library::with(|s| s.indexer.max_image_pixels = 1_000_000).await?;
    let cat = fixture("cat.jpg")?;
    let a_png = png(64, 64, 2)?;
    lib.put("good.jpg", &cat)?;
    lib.put("truncated.jpg", &cat[..cat.len() / 2])?;
    lib.put("truncated.png", &a_png[..a_png.len() / 2])?;
    lib.put("empty.jpg", b"")?;
    lib.put("text.jpg", b"this is not a photo")?;
    lib.put("notes.txt", b"not a photo, and does not pretend to be")?;
    lib.put("empty.txt", b"")?;
    lib.put("really-a-png.jpg", &a_png)?;
    lib.put("no-extension", &cat)?;
    lib.put("big.png", &png(2000, 1000, 3)?)?;
    lib.put("bomb.png", &png_claiming(100_000, 100_000)?)?;

    let summary = lib.scan().await?;
    assert_eq!(
        (summary.new, summary.failed, summary.skipped),
        (3, 6, 2),
        "{summary:?}"
    );

    assert!(
        reason(&lib, "truncated.jpg")
            .await?
            .contains("truncated JPEG")
    );
    assert!(reason(&lib, "truncated.png").await?.contains("png"));
    assert!(reason(&lib, "empty.jpg").await?.contains("empty file"));
    assert!(reason(&lib, "text.jpg").await?.contains("not an image"));
    let big = reason(&lib, "big.png").await?;
    assert!(
        big.contains("2000×1000") && big.contains("max_image_pixels"),
        "{big}"
    );
    assert!(reason(&lib, "bomb.png").await?.contains("100000×100000"));

    // Content decides the format, not the name.
    for (path, format) in [("really-a-png.jpg", "png"), ("no-extension", "jpeg")] {
        let record = lib.record(path).await?;
        let photo = lib
            .engine
            .photo(record.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no photo"))?;
        assert_eq!(
            photo.metadata.map(|m| m.format.as_str()),
            Some(format),
            "{path}"
        );
    }

    // Unchanged failures are not read again; a repaired file is indexed under the same id.
    let failed_id = lib.record("truncated.jpg").await?.id;
    let again = lib.scan().await?;
    assert_eq!((again.failed, again.unchanged), (0, 9));
    lib.put("truncated.jpg", &cat)?;
    let repaired = lib.scan().await?;
    assert_eq!(repaired.changed, 1);
    let record = lib.record("truncated.jpg").await?;
    assert_eq!((record.id, record.status), (failed_id, PhotoStatus::Ok));
    Ok(())
}

#[tokio::test]
async fn a_photo_corrupted_later_keeps_its_id_and_thumbnails() -> anyhow::Result<()> {
    let lib = Library::new().await?;
    let cat = fixture("cat.jpg")?;
    lib.put("cat.jpg", &cat)?;
    lib.scan().await?;
    let good = lib.record("cat.jpg").await?;
    lib.put("cat.jpg", &cat[..cat.len() / 3])?;
    lib.scan().await?;
    let bad = lib.record("cat.jpg").await?;
    assert_eq!((bad.id, bad.status), (good.id, PhotoStatus::Failed));
    let hash = good.hash.ok_or_else(|| anyhow::anyhow!("no hash"))?;
    assert!(
        lib.thumbnail(256, &hash).is_file(),
        "the good version's thumbnail stays"
    );
    Ok(())
}

#[cfg(unix)]
#[tokio::test]
async fn unreadable_things_never_mark_photos_gone() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    let lib = Library::new().await?;
    lib.put("ok.jpg", &jpeg(16, 16, 1)?)?;
    lib.put("locked/inside.jpg", &jpeg(16, 16, 2)?)?;
    std::os::unix::fs::symlink("missing-target.jpg", lib.photos.join("dangling.jpg"))?;
    lib.scan().await?;
    let status = lib.engine.status(10).await?;
    assert!(
        status
            .problems
            .iter()
            .any(|p| p.rel_path == "dangling.jpg" && p.reason.contains("broken symbolic link")),
        "{:?}",
        status.problems
    );

    // Permissions only bind an unprivileged user; as root the files stay readable.
    let locked = lib.photos.join("locked");
    fs_err::set_permissions(&locked, std::fs::Permissions::from_mode(0o000))?;
    let enforced = fs_err::read_dir(&locked).is_err();
    let summary = lib.scan().await;
    fs_err::set_permissions(&locked, std::fs::Permissions::from_mode(0o755))?;
    let summary = summary?;
    if enforced {
        assert_eq!(
            summary.removed, 0,
            "an unreadable folder is not a deleted folder"
        );
        assert_eq!(
            lib.record("locked/inside.jpg").await?.status,
            PhotoStatus::Ok
        );
        let status = lib.engine.status(10).await?;
        assert!(
            status
                .problems
                .iter()
                .any(|p| p.rel_path == "locked" && p.reason.contains("cannot read folder"))
        );
    }

    // A root that is not there (an unmounted disk) keeps every record.
    let elsewhere = lib.photos.with_extension("unmounted");
    fs_err::rename(&lib.photos, &elsewhere)?;
    let summary = lib.scan_all().await?;
    assert_eq!((summary.removed, summary.problems), (0, 1));
    let root = lib.root().await?;
    let records = lib.engine.store().known_photos(root.id).await?;
    assert!(
        records.iter().all(|r| r.status != PhotoStatus::Gone),
        "{records:?}"
    );
    let status = lib.engine.status(10).await?;
    assert!(
        status
            .problems
            .iter()
            .any(|p| p.reason.contains("not reachable"))
    );
    Ok(())
}
