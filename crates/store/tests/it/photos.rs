//! Photo records: every write kind, batch atomicity, round trips.

use shoebox_core::{MetadataStore, PhotoStatus, PhotoWrite, ScanOutcome};

use crate::support::{failed, hash, insert, metadata, root, stamp, store, two_photos};

#[tokio::test]
async fn metadata_round_trips() -> anyhow::Result<()> {
    let f = store().await?;
    let r = root(&f.store, "/p").await?;
    f.store
        .apply(vec![
            insert(r, "a/b.jpg", 7),
            failed(r, "bad.jpg", "empty file (0 bytes)"),
        ])
        .await?;
    let known = f.store.known_photos(r).await?;
    assert_eq!(known.len(), 2);

    let good = f
        .store
        .photo(known[0].id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(good.rel_path, "a/b.jpg");
    assert_eq!(
        (good.status, good.hash, good.stamp),
        (PhotoStatus::Ok, Some(hash(7)), stamp(7))
    );
    assert_eq!(good.metadata, Some(metadata()));
    assert!(known[0].indexed);

    let bad = f
        .store
        .photo(known[1].id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(
        (bad.status, bad.metadata, bad.hash),
        (PhotoStatus::Failed, None, None)
    );
    assert_eq!(bad.error.as_deref(), Some("empty file (0 bytes)"));
    assert!(!known[1].indexed);
    assert!(f.store.photo(shoebox_core::PhotoId(999)).await?.is_none());
    Ok(())
}

#[tokio::test]
async fn touch_replace_move_and_gone() -> anyhow::Result<()> {
    let f = store().await?;
    let (r, ids) = two_photos(&f.store).await?;
    let (a, b) = (ids[0], ids[1]);

    f.store
        .apply(vec![
            PhotoWrite::Touch {
                id: a,
                stamp: stamp(50),
            },
            PhotoWrite::Replace {
                id: b,
                stamp: stamp(60),
                hash: Some(hash(9)),
                outcome: ScanOutcome::Failed {
                    reason: "truncated".to_owned(),
                },
            },
        ])
        .await?;
    let known = f.store.known_photos(r).await?;
    assert_eq!((known[0].stamp, known[0].hash), (stamp(50), Some(hash(1))));
    assert_eq!(
        (known[1].id, known[1].status, known[1].hash),
        (b, PhotoStatus::Failed, Some(hash(9)))
    );
    assert!(
        !known[1].indexed,
        "a failed replacement clears the old metadata"
    );

    f.store
        .apply(vec![
            PhotoWrite::Move {
                id: a,
                root: r,
                rel_path: "moved/a.jpg".to_owned(),
                stamp: stamp(70),
            },
            PhotoWrite::MarkGone { id: b },
        ])
        .await?;
    let known = f.store.known_photos(r).await?;
    assert_eq!(
        (known[0].id, known[0].rel_path.as_str()),
        (a, "moved/a.jpg")
    );
    assert_eq!(known[1].status, PhotoStatus::Gone);
    Ok(())
}

#[tokio::test]
async fn paths_can_swap_and_be_reused_within_one_batch() -> anyhow::Result<()> {
    let f = store().await?;
    let (r, ids) = two_photos(&f.store).await?;
    let mv = |id, to: &str| PhotoWrite::Move {
        id,
        root: r,
        rel_path: to.to_owned(),
        stamp: stamp(3),
    };
    f.store
        .apply(vec![mv(ids[0], "b.jpg"), mv(ids[1], "a.jpg")])
        .await?;
    let known = f.store.known_photos(r).await?;
    assert_eq!(
        (known[0].rel_path.as_str(), known[1].rel_path.as_str()),
        ("b.jpg", "a.jpg")
    );

    // A gone record keeps its path while a new file takes it.
    f.store
        .apply(vec![
            PhotoWrite::MarkGone { id: ids[0] },
            insert(r, "b.jpg", 4),
        ])
        .await?;
    let at_b: Vec<_> = f
        .store
        .known_photos(r)
        .await?
        .into_iter()
        .filter(|k| k.rel_path == "b.jpg")
        .map(|k| k.status)
        .collect();
    assert_eq!(at_b, vec![PhotoStatus::Gone, PhotoStatus::Ok]);
    Ok(())
}

#[tokio::test]
async fn a_failing_batch_changes_nothing() -> anyhow::Result<()> {
    let f = store().await?;
    let r = root(&f.store, "/p").await?;
    f.store.apply(vec![insert(r, "a.jpg", 1)]).await?;
    // The second insert breaks "one live record per path": the whole batch rolls back.
    let result = f
        .store
        .apply(vec![insert(r, "new.jpg", 2), insert(r, "a.jpg", 3)])
        .await;
    assert!(result.is_err());
    let known = f.store.known_photos(r).await?;
    assert_eq!(known.len(), 1);
    assert_eq!(known[0].hash, Some(hash(1)));
    Ok(())
}
