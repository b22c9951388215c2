//! Scans of a generated tree: nested folders, identical files, renames, moves, deletions,
//! hidden and ignored files, symlink loops.

use std::collections::BTreeSet;

use shoebox_core::PhotoStatus;
use shoebox_testkit::{jpeg, png};

use crate::common::{Library, assert_store_matches_disk};

#[tokio::test]
async fn nested_tree_with_copies_hidden_and_ignored_files() -> anyhow::Result<()> {
    let lib = Library::new().await?;
    let same = jpeg(64, 48, 1)?;
    lib.put("a/b/c/one.jpg", &jpeg(40, 30, 2)?)?;
    lib.put("a/two.png", &png(20, 10, 3)?)?;
    lib.put("top.jpg", &jpeg(30, 40, 4)?)?;
    lib.put("dup1.jpg", &same)?;
    lib.put("x/dup2.jpg", &same)?;
    lib.put(".hidden.jpg", &jpeg(8, 8, 5)?)?;
    lib.put(".cache/inside.jpg", &jpeg(8, 8, 6)?)?;
    lib.put("@eaDir/synology-thumb.jpg", &jpeg(8, 8, 7)?)?;
    lib.put("notes.txt", b"shopping list")?;

    let summary = lib.scan().await?;
    assert_eq!(
        (summary.new, summary.failed, summary.skipped),
        (5, 0, 1),
        "{summary:?}"
    );

    let live = lib.live().await?;
    let paths: BTreeSet<&str> = live.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "a/b/c/one.jpg",
            "a/two.png",
            "top.jpg",
            "dup1.jpg",
            "x/dup2.jpg"
        ])
    );
    let (d1, d2) = (&live["dup1.jpg"], &live["x/dup2.jpg"]);
    assert_eq!(d1.hash, d2.hash, "identical files share a content hash");
    assert_ne!(d1.id, d2.id, "identical files are separate photos");
    for record in live.values() {
        let hash = record.hash.ok_or_else(|| anyhow::anyhow!("no hash"))?;
        for size in [256, 1280] {
            assert!(
                lib.thumbnail(size, &hash).is_file(),
                "{} has a {size} thumbnail",
                record.rel_path
            );
        }
    }

    let again = lib.scan().await?;
    assert_eq!(
        (again.new, again.unchanged, again.moved, again.removed),
        (0, 5, 0, 0)
    );
    Ok(())
}

#[tokio::test]
async fn renames_moves_deletions_and_edits_keep_identities() -> anyhow::Result<()> {
    let lib = Library::new().await?;
    lib.put("top.jpg", &jpeg(30, 40, 1)?)?;
    lib.put("a/two.png", &png(20, 10, 2)?)?;
    lib.put("a/b/one.jpg", &jpeg(40, 30, 3)?)?;
    lib.put("a/b/three.jpg", &jpeg(40, 30, 4)?)?;
    lib.put("doomed.jpg", &jpeg(16, 16, 5)?)?;
    lib.put("edited.jpg", &jpeg(16, 16, 6)?)?;
    lib.scan().await?;
    let before = lib.live().await?;

    let p = &lib.photos;
    fs_err::rename(p.join("top.jpg"), p.join("renamed.jpg"))?;
    fs_err::create_dir_all(p.join("z/deeper"))?;
    fs_err::rename(p.join("a/two.png"), p.join("z/deeper/two.png"))?;
    fs_err::rename(p.join("a/b"), p.join("moved_b"))?;
    let doomed = fs_err::read(p.join("doomed.jpg"))?;
    fs_err::remove_file(p.join("doomed.jpg"))?;
    lib.put("edited.jpg", &jpeg(16, 16, 60)?)?;

    let summary = lib.scan().await?;
    assert_eq!(
        (summary.moved, summary.removed, summary.changed, summary.new),
        (4, 1, 1, 0),
        "{summary:?}"
    );
    assert_store_matches_disk(&lib).await?;
    let after = lib.live().await?;
    for (old, new) in [
        ("top.jpg", "renamed.jpg"),
        ("a/two.png", "z/deeper/two.png"),
        ("a/b/one.jpg", "moved_b/one.jpg"),
        ("a/b/three.jpg", "moved_b/three.jpg"),
    ] {
        assert_eq!(before[old].id, after[new].id, "{old} → {new} keeps its id");
    }
    assert_eq!(
        before["edited.jpg"].id, after["edited.jpg"].id,
        "an edit keeps the id"
    );
    assert_ne!(before["edited.jpg"].hash, after["edited.jpg"].hash);
    let gone = lib
        .records()
        .await?
        .into_iter()
        .find(|r| r.id == before["doomed.jpg"].id)
        .ok_or_else(|| anyhow::anyhow!("deleted record vanished"))?;
    assert_eq!(
        gone.status,
        PhotoStatus::Gone,
        "a deleted file is marked gone, not forgotten"
    );

    // The deleted photo comes back elsewhere: same id as before.
    lib.put("restored/doomed.jpg", &doomed)?;
    let summary = lib.scan().await?;
    assert_eq!(summary.moved, 1);
    assert_eq!(
        lib.record("restored/doomed.jpg").await?.id,
        before["doomed.jpg"].id
    );
    assert_store_matches_disk(&lib).await
}

#[tokio::test]
async fn overwriting_and_swapping_files() -> anyhow::Result<()> {
    let lib = Library::new().await?;
    lib.put("a.jpg", &jpeg(16, 16, 1)?)?;
    lib.put("b.jpg", &jpeg(16, 16, 2)?)?;
    lib.put("c.jpg", &jpeg(16, 16, 3)?)?;
    lib.scan().await?;
    let before = lib.live().await?;

    // Swap a and b; move c over b's old place... c overwrites a (after the swap).
    let p = &lib.photos;
    fs_err::rename(p.join("a.jpg"), p.join("tmp.jpg"))?;
    fs_err::rename(p.join("b.jpg"), p.join("a.jpg"))?;
    fs_err::rename(p.join("tmp.jpg"), p.join("b.jpg"))?;
    lib.scan().await?;
    let swapped = lib.live().await?;
    assert_eq!(swapped["a.jpg"].id, before["b.jpg"].id);
    assert_eq!(swapped["b.jpg"].id, before["a.jpg"].id);

    fs_err::rename(p.join("c.jpg"), p.join("a.jpg"))?;
    let summary = lib.scan().await?;
    assert_eq!((summary.moved, summary.removed), (1, 1));
    assert_eq!(lib.record("a.jpg").await?.id, before["c.jpg"].id);
    assert_store_matches_disk(&lib).await
}

#[cfg(unix)]
#[tokio::test]
async fn symlink_loops_are_reported_not_followed() -> anyhow::Result<()> {
    let lib = Library::new().await?;
    lib.put("a/one.jpg", &jpeg(16, 16, 1)?)?;
    lib.put("two.jpg", &jpeg(16, 16, 2)?)?;
    std::os::unix::fs::symlink("..", lib.photos.join("a/up"))?;
    std::os::unix::fs::symlink(".", lib.photos.join("self"))?;

    let summary = lib.scan().await?;
    assert_eq!(
        summary.new, 2,
        "each photo once, not once per loop turn: {summary:?}"
    );
    assert_eq!(summary.problems, 2);
    let status = lib.engine.status(10).await?;
    assert_eq!(status.problems.len(), 2);
    assert!(
        status.problems.iter().all(|p| p.reason.contains("loop")),
        "{:?}",
        status.problems
    );
    Ok(())
}
