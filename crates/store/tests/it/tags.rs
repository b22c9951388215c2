//! Zero-shot tags follow the content they were scored from; a photo scored once is not pending
//! again for the same tagger, even when no label passed the threshold.

use shoebox_core::{MetadataStore, PhotoTag, StoredEmbedding, ZeroShotTags};

use crate::support::{hash, replace, store, two_photos};

const MODEL: &str = "clip-test";

fn embedding(photo: shoebox_core::PhotoId, n: u8) -> StoredEmbedding {
    StoredEmbedding {
        photo,
        hash: hash(n),
        vector: vec![0.6, 0.8],
    }
}

#[tokio::test]
async fn tagging_is_pending_until_scored_for_the_current_content() -> anyhow::Result<()> {
    let f = store().await?;
    let (_, ids) = two_photos(&f.store).await?;
    f.store
        .put_embeddings(MODEL, vec![embedding(ids[0], 1), embedding(ids[1], 2)])
        .await?;
    let pending = f.store.pending_tagging(MODEL, "t1", 10).await?;
    assert_eq!(pending.iter().map(|e| e.photo).collect::<Vec<_>>(), ids);
    assert_eq!(
        f.store.pending_tagging(MODEL, "t1", 1).await?.len(),
        1,
        "limit"
    );

    let text_before = f.store.generation("text").await?;
    f.store
        .put_zero_shot_tags(
            "t1",
            MODEL,
            vec![
                ZeroShotTags {
                    photo: ids[0],
                    hash: hash(1),
                    tags: vec![("cat".to_owned(), 0.9), ("sofa".to_owned(), 0.3)],
                },
                // Nothing passed the threshold: scored all the same.
                ZeroShotTags {
                    photo: ids[1],
                    hash: hash(2),
                    tags: Vec::new(),
                },
            ],
        )
        .await?;
    assert!(f.store.pending_tagging(MODEL, "t1", 10).await?.is_empty());
    assert_eq!(
        f.store.pending_tagging(MODEL, "t2", 10).await?.len(),
        2,
        "per tagger"
    );
    let tag = |tag: &str| PhotoTag {
        photo: ids[0],
        tag: tag.to_owned(),
    };
    assert_eq!(f.store.live_tags().await?, vec![tag("cat"), tag("sofa")]);
    assert!(
        f.store.generation("text").await? > text_before,
        "the text index is stale"
    );

    // Scoring again replaces the photo's zero-shot tags.
    f.store
        .put_zero_shot_tags(
            "t2",
            MODEL,
            vec![ZeroShotTags {
                photo: ids[0],
                hash: hash(1),
                tags: vec![("dog".to_owned(), 0.5)],
            }],
        )
        .await?;
    assert_eq!(f.store.live_tags().await?, vec![tag("dog")]);

    // New content: its old tags stop counting, and it is pending once re-embedded.
    f.store.apply(vec![replace(ids[0], 9)]).await?;
    assert!(f.store.live_tags().await?.is_empty());
    f.store
        .put_embeddings(MODEL, vec![embedding(ids[0], 9)])
        .await?;
    // (The other photo was scored by "t1" only: a new tagger scores it too.)
    let pending = f.store.pending_tagging(MODEL, "t2", 10).await?;
    assert_eq!(
        pending
            .iter()
            .map(|e| (e.photo, e.hash))
            .collect::<Vec<_>>(),
        vec![(ids[0], hash(9)), (ids[1], hash(2))]
    );
    Ok(())
}
