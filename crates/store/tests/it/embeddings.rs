//! Embeddings follow their photo's content, and the index generations follow what the
//! derived indices are built from.

use shoebox_core::{MetadataStore, PhotoWrite, StoredEmbedding};

use crate::support::{hash, replace, stamp, store, two_photos};

const MODEL: &str = "clip-test";

fn embedding(photo: shoebox_core::PhotoId, n: u8, x: f32) -> StoredEmbedding {
    StoredEmbedding {
        photo,
        hash: hash(n),
        vector: vec![x, (1.0 - x * x).sqrt()],
    }
}

#[tokio::test]
async fn pending_embeddings_follow_content_and_status() -> anyhow::Result<()> {
    let f = store().await?;
    let (_, ids) = two_photos(&f.store).await?;
    let pending = f.store.pending_embeddings(MODEL, 10).await?;
    assert_eq!(pending.iter().map(|p| p.photo).collect::<Vec<_>>(), ids);
    assert_eq!(
        (pending[0].rel_path.as_str(), pending[0].hash),
        ("a.jpg", hash(1))
    );
    assert_eq!(
        f.store.pending_embeddings(MODEL, 1).await?.len(),
        1,
        "limit"
    );

    f.store
        .put_embeddings(
            MODEL,
            vec![embedding(ids[0], 1, 0.6), embedding(ids[1], 2, 0.8)],
        )
        .await?;
    assert!(f.store.pending_embeddings(MODEL, 10).await?.is_empty());
    assert_eq!(
        f.store.pending_embeddings("other", 10).await?.len(),
        2,
        "per model"
    );
    let live = f.store.live_embeddings(MODEL).await?;
    assert_eq!(
        live,
        vec![embedding(ids[0], 1, 0.6), embedding(ids[1], 2, 0.8)]
    );

    // New content: the old vector stops being live and the photo is pending again.
    f.store.apply(vec![replace(ids[0], 9)]).await?;
    assert_eq!(
        f.store.pending_embeddings(MODEL, 10).await?[0].hash,
        hash(9)
    );
    assert_eq!(f.store.live_embeddings(MODEL).await?.len(), 1);
    f.store
        .put_embeddings(MODEL, vec![embedding(ids[0], 9, 0.1)])
        .await?;
    assert_eq!(f.store.live_embeddings(MODEL).await?.len(), 2);

    // A gone photo is neither pending nor live.
    f.store
        .apply(vec![PhotoWrite::MarkGone { id: ids[1] }])
        .await?;
    let live = f.store.live_embeddings(MODEL).await?;
    assert_eq!(live, vec![embedding(ids[0], 9, 0.1)]);
    assert!(f.store.pending_embeddings(MODEL, 10).await?.is_empty());
    assert_eq!(f.store.live_photos().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn generations_move_only_when_index_inputs_change() -> anyhow::Result<()> {
    let f = store().await?;
    assert_eq!(f.store.generation("photos").await?, 0);
    let (_, ids) = two_photos(&f.store).await?;
    let after_insert = f.store.generation("photos").await?;
    assert!(after_insert > 0);

    // A rescan that finds nothing new only touches the stamp: indices stay current.
    f.store
        .apply(vec![PhotoWrite::Touch {
            id: ids[0],
            stamp: stamp(1),
        }])
        .await?;
    assert_eq!(f.store.generation("photos").await?, after_insert);

    f.store
        .apply(vec![PhotoWrite::MarkGone { id: ids[0] }])
        .await?;
    assert!(f.store.generation("photos").await? > after_insert);

    let vectors = f.store.generation(&format!("vector:{MODEL}")).await?;
    f.store
        .put_embeddings(MODEL, vec![embedding(ids[1], 2, 0.5)])
        .await?;
    assert!(f.store.generation(&format!("vector:{MODEL}")).await? > vectors);
    assert_eq!(f.store.generation("vector:other").await?, 0);
    Ok(())
}
