//! One question over several photos with the tiny BLIP question-answering checkpoint: answers
//! stream in order, a vanished file is reported and skipped, cancelling stops between photos.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use shoebox_core::PhotoId;

use crate::common::Library;

fn vqa_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/blip-vqa-tiny")
}

async fn library() -> anyhow::Result<(Library, Vec<PhotoId>)> {
    let lib = Library::new().await?;
    for name in ["cat", "rocket", "pagoda"] {
        lib.put(
            &format!("{name}.jpg"),
            &shoebox_testkit::fixture(&format!("{name}.jpg"))?,
        )?;
    }
    lib.scan().await?;
    let mut records = lib.records().await?;
    records.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    let ids = records.iter().map(|r| r.id).collect();
    Ok((lib, ids))
}

#[tokio::test]
async fn answers_stream_in_order_and_a_vanished_photo_is_reported() -> anyhow::Result<()> {
    let (lib, ids) = library().await?;
    let blip = lib.engine.answerer(Some(&vqa_tiny()))?;
    fs_err::remove_file(lib.photos.join("pagoda.jpg"))?;
    let mut seen = Vec::new();
    let summary = lib
        .engine
        .ask_photos(
            &blip,
            &ids,
            "what is in the picture?",
            "en",
            &AtomicBool::new(false),
            &mut |a| {
                seen.push(a.clone());
            },
        )
        .await?;
    assert_eq!(seen.iter().map(|a| a.photo).collect::<Vec<_>>(), ids);
    assert_eq!(
        (summary.answered, summary.failed, summary.cancelled),
        (2, 1, false)
    );
    let pagoda = &seen[1];
    assert!(pagoda.answer.is_none());
    assert!(
        pagoda
            .error
            .as_deref()
            .is_some_and(|e| e.contains("pagoda.jpg")),
        "{pagoda:?}"
    );
    let answers: Vec<String> = seen.iter().filter_map(|a| a.answer.clone()).collect();
    let (common, count) = summary.most_common.clone().unwrap_or_default();
    let expected = answers
        .iter()
        .filter(|a| a.trim().to_lowercase() == common)
        .count();
    assert_eq!(count, expected, "{answers:?} {summary:?}");
    assert!(count >= 1);
    // Each answer is the same as asking that photo alone.
    let alone = lib.engine.answer_file(
        &blip,
        &lib.photos.join("cat.jpg"),
        "what is in the picture?",
        "en",
    )?;
    assert_eq!(answers[0], alone);
    Ok(())
}

#[tokio::test]
async fn cancelling_stops_before_the_next_photo_and_bad_questions_ask_nobody() -> anyhow::Result<()>
{
    let (lib, ids) = library().await?;
    let blip = lib.engine.answerer(Some(&vqa_tiny()))?;
    let cancel = AtomicBool::new(false);
    let mut calls = 0;
    let summary = lib
        .engine
        .ask_photos(&blip, &ids, "is there a cat?", "en", &cancel, &mut |_| {
            calls += 1;
            cancel.store(true, Ordering::Relaxed);
        })
        .await?;
    assert_eq!((calls, summary.answered, summary.cancelled), (1, 1, true));

    for (question, lang) in [("  ", "en"), ("is there a cat?", "fr")] {
        let mut calls = 0;
        let result = lib
            .engine
            .ask_photos(
                &blip,
                &ids,
                question,
                lang,
                &AtomicBool::new(false),
                &mut |_| calls += 1,
            )
            .await;
        assert!(result.is_err(), "{question:?} in {lang}");
        assert_eq!(calls, 0);
    }
    Ok(())
}
