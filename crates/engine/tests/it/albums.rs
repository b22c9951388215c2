//! Smart albums fill from their prompts: back-filled over photos tagged before the album
//! existed, applied to new photos, each member scored by its cosine similarity to the unit
//! mean of the prompts' embeddings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use shoebox_core::{MetadataStore, PhotoId};
use shoebox_testkit::{jpeg, with_comment};

use crate::common::Library;

fn clip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clip-tiny")
}

/// Scan, embed, tag.
async fn index(
    lib: &Library,
    clip: &shoebox_ml::Clip,
) -> anyhow::Result<shoebox_engine::TagSummary> {
    lib.scan().await?;
    let mut indices = lib.engine.indices(clip).await?;
    lib.engine
        .embed_library(clip, &mut indices, &|_, _| {})
        .await?;
    drop(indices);
    Ok(lib.engine.tag_library(clip).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn albums_back_fill_and_take_new_photos_with_their_similarity() -> anyhow::Result<()> {
    let lib = Library::with(|s| s.captions.enabled = false).await?;
    for i in 0..4 {
        lib.put(
            &format!("{i}.jpg"),
            &with_comment(&jpeg(48, 32, i)?, &i.to_string())?,
        )?;
    }
    let clip = lib.engine.clip(Some(&clip_tiny()))?;
    index(&lib, &clip).await?;

    // Created after the photos were tagged: the next tagging back-fills them.
    let prompts = vec!["a red car".to_owned(), "a blue boat".to_owned()];
    lib.engine.put_album("everything", &prompts, -1.0).await?;
    lib.engine.put_album("nothing", &prompts, 1.0).await?;
    let (everything, nothing) = (
        lib.engine.album("everything").await?,
        lib.engine.album("nothing").await?,
    );
    assert!(
        everything.1.is_empty() && nothing.1.is_empty(),
        "not scored yet"
    );
    let summary = lib.engine.tag_library(&clip).await?;
    assert_eq!(summary.scored, 4, "a new album re-scores every photo");
    assert_eq!(lib.engine.album("everything").await?.1.len(), 4);
    assert!(lib.engine.album("nothing").await?.1.is_empty());

    // Each score is the cosine to the unit mean of the prompt embeddings.
    let texts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let prompt_vectors = lib.engine.embed_texts(&clip, &texts)?;
    let mut direction: Vec<f32> = (0..clip.dim())
        .map(|i| prompt_vectors.iter().map(|e| e.vector[i]).sum())
        .collect();
    let norm = direction.iter().map(|v| v * v).sum::<f32>().sqrt();
    direction.iter_mut().for_each(|v| *v /= norm);
    let vectors: BTreeMap<PhotoId, Vec<f32>> = lib
        .engine
        .store()
        .live_embeddings(clip.model_id())
        .await?
        .into_iter()
        .map(|e| (e.photo, e.vector))
        .collect();
    let (_, members) = lib.engine.album("everything").await?;
    for (photo, score) in &members {
        let cosine: f32 = direction
            .iter()
            .zip(&vectors[photo])
            .map(|(a, b)| a * b)
            .sum();
        assert!(
            (cosine - score).abs() < 1e-5,
            "photo {photo}: {score} against {cosine}"
        );
    }
    assert!(members.windows(2).all(|w| w[0].1 >= w[1].1), "best first");

    // A new photo joins when it is tagged; nothing else is scored again.
    lib.put("new.jpg", &with_comment(&jpeg(48, 32, 9)?, "new")?)?;
    let summary = index(&lib, &clip).await?;
    assert_eq!(summary.scored, 1);
    assert_eq!(lib.engine.album("everything").await?.1.len(), 5);

    // A threshold between the scores splits the album.
    let (_, members) = lib.engine.album("everything").await?;
    let middle = (members[1].1 + members[2].1) / 2.0;
    lib.engine.put_album("everything", &prompts, middle).await?;
    lib.engine.tag_library(&clip).await?;
    assert_eq!(lib.engine.album("everything").await?.1.len(), 2);

    lib.engine.remove_album("nothing").await?;
    assert!(lib.engine.album("nothing").await.is_err());
    assert!(
        lib.engine.put_album("bad", &[], 0.2).await.is_err(),
        "no prompt"
    );
    Ok(())
}
