//! Captions follow their photo's content, per model and language, and move the text index's
//! change counter.

use shoebox_core::{MetadataStore, PhotoWrite, StoredCaption};

use crate::support::{hash, replace, store, two_photos};

const MODEL: &str = "blip-test";

fn caption(photo: shoebox_core::PhotoId, n: u8, lang: &str, text: &str) -> StoredCaption {
    StoredCaption {
        photo,
        hash: hash(n),
        lang: lang.to_owned(),
        text: text.to_owned(),
    }
}

#[tokio::test]
async fn captions_are_pending_per_model_and_language_until_stored_for_the_current_content()
-> anyhow::Result<()> {
    let f = store().await?;
    let (_, ids) = two_photos(&f.store).await?;
    let pending = f.store.pending_captions(MODEL, "en", 10).await?;
    assert_eq!(pending.iter().map(|p| p.photo).collect::<Vec<_>>(), ids);
    assert_eq!(
        f.store.pending_captions(MODEL, "en", 1).await?.len(),
        1,
        "limit"
    );
    let text_before = f.store.generation("text").await?;

    let stored = vec![
        caption(ids[0], 1, "en", "a cat on a sofa"),
        caption(ids[1], 2, "en", "a rocket"),
    ];
    f.store.put_captions(MODEL, stored.clone()).await?;
    assert!(f.store.pending_captions(MODEL, "en", 10).await?.is_empty());
    assert_eq!(
        f.store.pending_captions(MODEL, "de", 10).await?.len(),
        2,
        "per language"
    );
    assert_eq!(
        f.store.pending_captions("other", "en", 10).await?.len(),
        2,
        "per model"
    );
    assert_eq!(f.store.live_captions(None).await?, stored);
    assert!(
        f.store.generation("text").await? > text_before,
        "the text index is stale"
    );

    // Replacing a caption keeps one row.
    f.store
        .put_captions(MODEL, vec![caption(ids[1], 2, "en", "a rocket at dusk")])
        .await?;
    assert_eq!(
        f.store.live_captions(None).await?[1].text,
        "a rocket at dusk"
    );

    // New content: the old caption stops being live and the photo is pending again.
    f.store.apply(vec![replace(ids[0], 9)]).await?;
    assert_eq!(
        f.store.pending_captions(MODEL, "en", 10).await?[0].hash,
        hash(9)
    );
    assert_eq!(f.store.live_captions(None).await?.len(), 1);

    // A gone photo's caption is not live.
    f.store
        .apply(vec![PhotoWrite::MarkGone { id: ids[1] }])
        .await?;
    assert!(f.store.live_captions(None).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn the_text_log_names_each_changed_photo_until_pruned() -> anyhow::Result<()> {
    let f = store().await?;
    let (_, ids) = two_photos(&f.store).await?;
    let Some((changed, first)) = f.store.text_changes(0).await? else {
        anyhow::bail!("a fresh log reaches back to the start");
    };
    assert_eq!(changed, ids, "both photos were inserted");
    assert_eq!(f.store.text_log_end().await?, first);
    assert_eq!(
        f.store.text_changes(first).await?,
        Some((Vec::new(), first))
    );

    // A caption changes one photo's document, and only its own captions are listed for it.
    f.store
        .put_captions(
            "blip",
            vec![StoredCaption {
                photo: ids[1],
                hash: hash(2),
                lang: "en".to_owned(),
                text: "a cat".to_owned(),
            }],
        )
        .await?;
    let Some((changed, last)) = f.store.text_changes(first).await? else {
        anyhow::bail!("not pruned yet");
    };
    assert_eq!(changed, vec![ids[1]]);
    assert!(last > first);
    assert_eq!(f.store.live_captions(Some(ids[0])).await?, Vec::new());
    assert_eq!(f.store.live_captions(Some(ids[1])).await?.len(), 1);

    // Pruned up to `last`: an index that saw less must rebuild; one that saw it goes on.
    f.store.prune_text_changes(last).await?;
    assert_eq!(f.store.text_changes(first).await?, None);
    assert_eq!(f.store.text_changes(last).await?, Some((Vec::new(), last)));
    assert_eq!(
        f.store.text_log_end().await?,
        last,
        "the end survives pruning"
    );
    Ok(())
}
