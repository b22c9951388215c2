//! "More like this" with the tiny Stable Diffusion and CLIP checkpoints: variations land in the
//! generated folder, are recorded, scanned and embedded like any photo, and searches show them
//! only when asked; a seed repeats its image; an unreadable source fails clearly and leaves
//! the library as it was; limits hold; the queue refuses when full, cancels, and stops at the
//! time limit.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use shoebox_core::{Generated, PhotoId, SearchFilters};
use shoebox_engine::{
    Engine, Error, Generations, JobState, JobStatus, SearchRequest, Settings, SortOrder,
    VaryRequest,
};

use crate::common::Library;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// Small, quick variations.
fn small(settings: &mut Settings) {
    settings.vary.size = 64;
    settings.search.min_similarity = -1.0;
}

fn ask(seed: u64, count: usize) -> VaryRequest {
    VaryRequest {
        prompt: Some("a cat in the snow".to_owned()),
        seed: Some(seed),
        count: Some(count),
        ..VaryRequest::default()
    }
}

async fn library(tweak: impl FnOnce(&mut Settings)) -> anyhow::Result<(Library, PhotoId)> {
    let lib = Library::with(|s| {
        small(s);
        tweak(s);
    })
    .await?;
    for name in ["cat.jpg", "rocket.jpg"] {
        lib.put(name, &shoebox_testkit::fixture(name)?)?;
    }
    lib.scan().await?;
    let cat = lib.record("cat.jpg").await?.id;
    Ok((lib, cat))
}

fn browse(generated: Generated) -> SearchRequest {
    SearchRequest {
        query: String::new(),
        filters: SearchFilters {
            generated,
            ..SearchFilters::default()
        },
        sort: SortOrder::Date,
        limit: 50,
        cursor: None,
        explain: false,
    }
}

#[tokio::test]
async fn variations_are_photos_that_searches_show_only_when_asked() -> anyhow::Result<()> {
    let (lib, cat) = library(|_| {}).await?;
    let engine = &lib.engine;
    let sd = engine.diffusion(Some(&fixture("sd-tiny")))?;
    engine.generated_root().await?;
    let plan = engine.plan_variation(cat, &ask(3, 2)).await?;
    assert_eq!((plan.variation.width, plan.variation.height), (64, 64));
    let never = AtomicBool::new(false);
    let mut steps = 0;
    let made = engine.vary_photo(&sd, &plan, &never, &mut |_, _, _| steps += 1)?;
    assert_eq!(made.iter().map(|m| m.seed).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(steps, 2, "one step each (2 steps at strength 0.5)");
    // The same seed gives the same image.
    let again = engine.vary_photo(&sd, &plan, &never, &mut |_, _, _| {})?;
    let dir = engine.data_dir().generated();
    assert_ne!(again[0].file, made[0].file);
    assert_eq!(
        fs_err::read(dir.join(&made[0].file))?,
        fs_err::read(dir.join(&again[0].file))?
    );
    assert_ne!(
        fs_err::read(dir.join(&made[0].file))?,
        fs_err::read(dir.join(&made[1].file))?
    );
    for file in &again {
        fs_err::remove_file(dir.join(&file.file))?;
    }
    engine
        .record_variations(&plan, sd.model_id(), &made)
        .await?;

    // Scanned and embedded as any photo.
    lib.scan_all().await?;
    let clip = engine.clip(Some(&fixture("clip-tiny")))?;
    let mut indices = engine.indices(&clip).await?;
    engine
        .embed_library(&clip, &mut indices, &|_, _| {})
        .await?;
    let recorded = engine.variations_of(cat).await?;
    assert_eq!(recorded.len(), 2);
    let varied: Vec<PhotoId> = recorded.iter().filter_map(|v| v.photo).collect();
    assert_eq!(varied.len(), 2, "each variation is a photo after the scan");
    assert_eq!(recorded[0].prompt, "a cat in the snow");
    assert_eq!((recorded[0].strength, recorded[0].steps), (0.5, 2));

    let found = |generated| -> anyhow::Result<Vec<PhotoId>> {
        let mut ids: Vec<PhotoId> = engine
            .search(&clip, &indices, &browse(generated))?
            .hits
            .into_iter()
            .map(|h| h.photo)
            .collect();
        ids.sort();
        Ok(ids)
    };
    let originals = found(Generated::Hidden)?;
    assert_eq!(originals.len(), 2, "{originals:?}");
    assert!(originals.iter().all(|p| !varied.contains(p)));
    let mut only = found(Generated::Only)?;
    only.sort();
    let mut expected = varied.clone();
    expected.sort();
    assert_eq!(only, expected);
    assert_eq!(found(Generated::Included)?.len(), 4);
    // A query by meaning (CLIP and words) leaves them out too, unless asked.
    let query = |generated| SearchRequest {
        query: "a cat in the snow".to_owned(),
        sort: SortOrder::Relevance,
        ..browse(generated)
    };
    let hits = engine
        .search(&clip, &indices, &query(Generated::Hidden))?
        .hits;
    assert!(!hits.is_empty() && hits.iter().all(|h| !varied.contains(&h.photo)));
    let hits = engine
        .search(&clip, &indices, &query(Generated::Only))?
        .hits;
    assert!(!hits.is_empty() && hits.iter().all(|h| varied.contains(&h.photo)));
    Ok(())
}

#[tokio::test]
async fn an_unreadable_source_fails_clearly_and_keeps_the_library() -> anyhow::Result<()> {
    let (lib, cat) = library(|_| {}).await?;
    let engine = &lib.engine;
    let sd = engine.diffusion(Some(&fixture("sd-tiny")))?;
    let plan = engine.plan_variation(cat, &ask(1, 1)).await?;
    let before = lib.live().await?;
    lib.put("cat.jpg", b"not a photo any more")?;
    let e = engine
        .vary_photo(&sd, &plan, &AtomicBool::new(false), &mut |_, _, _| {})
        .err()
        .ok_or_else(|| anyhow::anyhow!("varied an unreadable photo"))?;
    assert!(e.to_string().contains("cat.jpg"), "{e}");
    assert_eq!(lib.live().await?, before);
    let generated = engine.data_dir().generated();
    assert!(!generated.exists() || fs_err::read_dir(&generated)?.next().is_none());
    Ok(())
}

#[tokio::test]
async fn a_request_cancelled_part_way_leaves_no_file() -> anyhow::Result<()> {
    let (lib, cat) = library(|_| {}).await?;
    let engine = &lib.engine;
    let sd = engine.diffusion(Some(&fixture("sd-tiny")))?;
    let request = VaryRequest {
        steps: Some(4),
        strength: Some(1.0),
        ..ask(1, 2)
    };
    let plan = engine.plan_variation(cat, &request).await?;
    let cancel = AtomicBool::new(false);
    let mut seen = Vec::new();
    // Cancelled during the second variation, after the first was written.
    let result = engine.vary_photo(&sd, &plan, &cancel, &mut |variation, step, _| {
        seen.push((variation, step));
        if variation == 1 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert!(
        matches!(
            result,
            Err(Error::Model(shoebox_engine::ModelError::Cancelled))
        ),
        "{result:?}"
    );
    assert_eq!(seen, [(0, 1), (0, 2), (0, 3), (0, 4), (1, 1)]);
    let generated = engine.data_dir().generated();
    assert_eq!(
        fs_err::read_dir(&generated)?.count(),
        0,
        "the first variation was removed"
    );
    Ok(())
}

#[tokio::test]
async fn requests_over_the_limits_are_refused() -> anyhow::Result<()> {
    let (lib, cat) = library(|s| {
        s.vary.max_count = 2;
        s.vary.max_steps = 8;
        s.vary.max_size = 128;
    })
    .await?;
    let bad = [
        VaryRequest {
            count: Some(3),
            ..ask(1, 1)
        },
        VaryRequest {
            count: Some(0),
            ..ask(1, 1)
        },
        VaryRequest {
            steps: Some(9),
            ..ask(1, 1)
        },
        VaryRequest {
            width: Some(192),
            height: Some(64),
            ..ask(1, 1)
        },
        VaryRequest {
            width: Some(64),
            ..ask(1, 1)
        },
        VaryRequest {
            width: Some(96),
            height: Some(64),
            ..ask(1, 1)
        },
        VaryRequest {
            strength: Some(1.5),
            ..ask(1, 1)
        },
        VaryRequest {
            prompt: Some(String::new()),
            ..ask(1, 1)
        },
    ];
    for request in bad {
        let result = lib.engine.plan_variation(cat, &request).await;
        assert!(result.is_err(), "{request:?} was accepted");
    }
    let missing = lib.engine.plan_variation(PhotoId(999), &ask(1, 1)).await;
    assert!(matches!(
        missing,
        Err(Error::Library(shoebox_core::Error::NotFound { .. }))
    ));
    Ok(())
}

/// Waits (on the queue's change signal, not a clock) until request `id` has finished.
async fn finished(queue: &Generations, id: u64) -> anyhow::Result<JobStatus> {
    let mut changes = queue.subscribe();
    loop {
        if let Some(status) = queue.status(id)
            && status.finished()
        {
            return Ok(status);
        }
        changes.changed().await?;
    }
}

async fn queue(
    tweak: impl FnOnce(&mut Settings),
) -> anyhow::Result<(Library, Arc<Engine>, Generations, PhotoId)> {
    let (lib, cat) = library(tweak).await?;
    // A second engine on the same data directory, shared with the queue's worker.
    let engine = Arc::new(Engine::open(lib.engine.settings().clone()).await?);
    let generations = Generations::start(Arc::clone(&engine), Some(fixture("sd-tiny")))?;
    Ok((lib, engine, generations, cat))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_runs_in_order_cancels_and_refuses_when_full() -> anyhow::Result<()> {
    let (_lib, engine, queue, cat) = queue(|s| s.vary.max_queued = 2).await?;
    // A long request (4 variations of 50 steps), and one behind it.
    let long = VaryRequest {
        steps: Some(50),
        strength: Some(1.0),
        ..ask(1, 4)
    };
    let first = queue.submit(&engine, engine.plan_variation(cat, &long).await?)?;
    let second = queue.submit(&engine, engine.plan_variation(cat, &ask(9, 1)).await?)?;
    assert!(matches!(second.state, JobState::Queued { .. }));
    // The one waiting is cancelled at once; the running one before its next step.
    assert!(queue.cancel(second.id));
    assert_eq!(
        queue.status(second.id).map(|s| s.state),
        Some(JobState::Cancelled { timed_out: false })
    );
    assert!(queue.cancel(first.id));
    assert_eq!(
        finished(&queue, first.id).await?.state,
        JobState::Cancelled { timed_out: false }
    );
    assert!(
        !queue.cancel(first.id),
        "a finished request is not cancelled again"
    );
    assert!(engine.variations_of(cat).await?.is_empty());
    // A request that runs to its end is done, with its files.
    let done = queue.submit(&engine, engine.plan_variation(cat, &ask(5, 1)).await?)?;
    let JobState::Done { made } = finished(&queue, done.id).await?.state else {
        anyhow::bail!("not done");
    };
    assert_eq!(made.len(), 1);
    assert_eq!(engine.variations_of(cat).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses() -> anyhow::Result<()> {
    let (_lib, engine, queue, cat) = queue(|s| s.vary.max_queued = 0).await?;
    let refused = queue.submit(&engine, engine.plan_variation(cat, &ask(1, 1)).await?);
    assert!(
        matches!(refused, Err(Error::QueueFull { waiting: 0 })),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_limit_stops_a_request() -> anyhow::Result<()> {
    let (_lib, engine, queue, cat) = queue(|s| s.vary.time_limit_seconds = 0).await?;
    let job = queue.submit(&engine, engine.plan_variation(cat, &ask(1, 1)).await?)?;
    assert_eq!(
        finished(&queue, job.id).await?.state,
        JobState::Cancelled { timed_out: true }
    );
    assert!(engine.variations_of(cat).await?.is_empty());
    Ok(())
}
