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
                    albums: Vec::new(),
                },
                // Nothing passed the threshold: scored all the same.
                ZeroShotTags {
                    photo: ids[1],
                    hash: hash(2),
                    tags: Vec::new(),
                    albums: Vec::new(),
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
    assert_eq!(
        f.store.live_tags(None).await?,
        vec![tag("cat"), tag("sofa")]
    );
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
                albums: Vec::new(),
            }],
        )
        .await?;
    assert_eq!(f.store.live_tags(None).await?, vec![tag("dog")]);

    // New content: its old tags stop counting, and it is pending once re-embedded.
    f.store.apply(vec![replace(ids[0], 9)]).await?;
    assert!(f.store.live_tags(None).await?.is_empty());
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

#[tokio::test]
async fn smart_albums_keep_the_members_scored_from_current_content() -> anyhow::Result<()> {
    let f = store().await?;
    let (_, ids) = two_photos(&f.store).await?;
    let prompts = vec!["a cat".to_owned(), "a kitten".to_owned()];
    let cats = f.store.put_album("Cats", &prompts, 0.2).await?;
    assert_eq!(
        (cats.name.as_str(), cats.prompts.clone(), cats.threshold),
        ("Cats", prompts, 0.2)
    );
    let dogs = f
        .store
        .put_album("Dogs", &["a dog".to_owned()], 0.3)
        .await?;
    // Redefining keeps the id.
    let cats2 = f
        .store
        .put_album("Cats", &["a cat".to_owned()], 0.25)
        .await?;
    assert_eq!((cats2.id, cats2.threshold), (cats.id, 0.25));
    assert_eq!(
        f.store
            .albums()
            .await?
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["Cats", "Dogs"]
    );

    let scored = |photo, n, albums: Vec<(i64, f32)>| ZeroShotTags {
        photo,
        hash: hash(n),
        tags: Vec::new(),
        albums,
    };
    f.store
        .put_zero_shot_tags(
            "t1",
            MODEL,
            vec![
                scored(ids[0], 1, vec![(cats.id, 0.31)]),
                scored(ids[1], 2, vec![(cats.id, 0.4), (dogs.id, 0.35)]),
            ],
        )
        .await?;
    assert_eq!(
        f.store.album_photos(cats.id).await?,
        vec![(ids[1], 0.4), (ids[0], 0.31)],
        "best first"
    );
    assert_eq!(f.store.album_photos(dogs.id).await?, vec![(ids[1], 0.35)]);
    // Scoring again replaces a photo's memberships.
    f.store
        .put_zero_shot_tags("t2", MODEL, vec![scored(ids[1], 2, vec![(dogs.id, 0.5)])])
        .await?;
    assert_eq!(f.store.album_photos(cats.id).await?, vec![(ids[0], 0.31)]);
    // New content: the old membership stops counting.
    f.store.apply(vec![replace(ids[0], 9)]).await?;
    assert!(f.store.album_photos(cats.id).await?.is_empty());

    assert!(f.store.remove_album("Dogs").await?);
    assert!(!f.store.remove_album("Dogs").await?);
    assert_eq!(f.store.albums().await?.len(), 1);
    Ok(())
}
