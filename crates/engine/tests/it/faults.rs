//! Faults are data: a photo whose model call fails or panics is retried, then dead with its
//! reason, while every other photo is done; a restart does not run it again; a retry after the
//! cause is fixed completes it. A database held locked by another program makes the live
//! library wait and try again — searches answer all along — and the photos that arrived
//! meanwhile are indexed once the lock is gone.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shoebox_core::{Captioner, JobKind, JobQueue, MetadataStore, Pixels};
use shoebox_engine::{LiveEvent, LiveModels, SearchRequest};
use shoebox_testkit::{DatabaseLock, jpeg};

use crate::common::Library;

/// A captioner that fails for images 41 pixels wide and panics for those 42 wide, until fixed.
#[derive(Default)]
struct Flaky {
    fixed: AtomicBool,
    calls: AtomicUsize,
}

impl Captioner for Flaky {
    fn model_id(&self) -> &str {
        "flaky"
    }

    fn writes(&self, lang: &str) -> bool {
        lang == "en"
    }

    fn answers_questions(&self) -> bool {
        false
    }

    fn caption(&self, image: &Pixels, _: &str, _: &str) -> shoebox_core::Result<String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match (self.fixed.load(Ordering::SeqCst), image.width) {
            (false, 41) => Err(shoebox_core::Error::Invalid(
                "the model ran out of memory".to_owned(),
            )),
            (false, 42) => panic!("index out of bounds in the decoder"),
            _ => Ok(format!("a photo {} pixels wide", image.width)),
        }
    }

    fn answer(&self, _: &Pixels, _: &str, _: &str) -> shoebox_core::Result<String> {
        Ok(String::new())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_and_a_panicking_photo_die_alone_and_come_back_once_fixed() -> anyhow::Result<()>
{
    let lib = Library::with(|s| {
        s.captions.enabled = true;
        s.captions.languages = vec!["en".to_owned()];
        s.tags.enabled = false;
        s.models.captioner = "flaky".to_owned();
        s.jobs.first_retry_seconds = 0;
        s.jobs.max_attempts = 3;
    })
    .await?;
    for (i, width) in [40, 41, 42, 43, 44].into_iter().enumerate() {
        lib.put(&format!("{i}.jpg"), &jpeg(width, 30, i as u64)?)?;
    }
    lib.scan().await?;
    let flaky = Flaky::default();
    let summary = lib.engine.caption_library(&flaky, &|_, _| {}).await?;
    assert_eq!(summary.captioned, 3, "every other photo is done");
    // Three attempts each at the two bad photos, then dead with their reasons.
    assert_eq!(summary.failed.len(), 6, "{:?}", summary.failed);
    let dead = lib.engine.queue().dead_jobs(10).await?;
    let reasons: Vec<&str> = dead.iter().map(|d| d.reason.as_str()).collect();
    assert_eq!(dead.iter().map(|d| d.attempts).collect::<Vec<_>>(), [3, 3]);
    let has = |what: &str| reasons.iter().any(|r| r.contains(what));
    assert!(has("ran out of memory"), "{reasons:?}");
    assert!(
        has("panicked: index out of bounds in the decoder"),
        "{reasons:?}"
    );
    let calls = flaky.calls.load(Ordering::SeqCst);
    assert_eq!(calls, 3 + 6);

    // A restart leaves the dead alone.
    let lib = lib.reopen().await?;
    let again = lib.engine.caption_library(&flaky, &|_, _| {}).await?;
    assert_eq!((again.captioned, again.failed.len()), (0, 0));
    assert_eq!(flaky.calls.load(Ordering::SeqCst), calls, "no model call");
    let progress = lib.engine.progress().await?;
    let caption = progress
        .stages
        .iter()
        .find(|s| s.stage == JobKind::Caption)
        .ok_or_else(|| anyhow::anyhow!("no caption stage"))?;
    assert_eq!((caption.done, caption.total, caption.jobs.dead), (3, 5, 2));

    // Fixed, and retried: done.
    flaky.fixed.store(true, Ordering::SeqCst);
    assert_eq!(lib.engine.retry_dead_jobs(None).await?, 2);
    let fixed = lib.engine.caption_library(&flaky, &|_, _| {}).await?;
    assert_eq!((fixed.captioned, fixed.failed.len()), (2, 0));
    assert!(lib.engine.queue().dead_jobs(10).await?.is_empty());
    assert!(
        lib.engine
            .store()
            .pending_captions("flaky", "en", 10)
            .await?
            .is_empty()
    );
    Ok(())
}

fn clip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clip-tiny")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_is_waited_out_while_searches_answer() -> anyhow::Result<()> {
    const BUSY_MS: u64 = 400;
    let lib = Library::with(|s| {
        s.storage.busy_timeout_ms = BUSY_MS;
        s.watch.debounce_ms = 50;
        s.watch.rescan_minutes = 0;
        s.captions.enabled = false;
        s.tags.enabled = false;
        s.search.min_similarity = -1.0;
    })
    .await?;
    for i in 0..4 {
        lib.put(&format!("{i}.jpg"), &jpeg(40, 30, i)?)?;
    }
    lib.engine.add_root(&lib.photos).await?;
    let clip = Arc::new(lib.engine.clip(Some(&clip_tiny()))?);
    let live = lib.engine.live_search(Arc::clone(&clip)).await?;
    let events = std::sync::Mutex::new(Vec::new());
    let report = |event: &LiveEvent| {
        if let Ok(mut events) = events.lock() {
            events.push(event.clone());
        }
    };
    let seen = |wanted: fn(&LiveEvent) -> bool| {
        events.lock().map(|e| e.iter().any(wanted)).unwrap_or(false)
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let models = LiveModels {
        clip: Some(Arc::clone(&clip)),
        captioner: None,
    };
    let watching = lib.engine.watch(&models, Some(&live), stopped, &report);
    let settings = lib.engine.settings().search.clone();
    let request = SearchRequest {
        query: "a photo".to_owned(),
        limit: 10,
        ..SearchRequest::default()
    };
    let database = lib.engine.data_dir().database();
    let driver = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        let wait = |what: &str| -> anyhow::Result<()> {
            anyhow::ensure!(Instant::now() < deadline, "timed out: {what}");
            Ok(())
        };
        while !seen(|e| *e == LiveEvent::Idle) {
            wait("the first pass")?;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let lock = DatabaseLock::hold(&database).await?;
        let locked = Instant::now();
        for i in 4..7 {
            lib.put(&format!("{i}.jpg"), &jpeg(40, 30, i)?)?;
        }
        // Held for twice the busy timeout at least, and until a pass has failed: searches
        // answer from memory throughout.
        let mut searches = 0;
        while locked.elapsed() < Duration::from_millis(2 * BUSY_MS)
            || lib.engine.degraded().is_none()
        {
            wait("a failed pass under the lock")?;
            assert_eq!(live.search(&settings, &request)?.hits.len(), 4);
            searches += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let degraded = lib
            .engine
            .degraded()
            .ok_or_else(|| anyhow::anyhow!("not degraded"))?;
        assert!(degraded.reason.contains("unavailable"), "{degraded:?}");
        lock.release().await?;
        while live.with_indices(|i| i.vector.len()) < 7 || lib.engine.degraded().is_some() {
            wait("indexing after the lock")?;
            assert!(live.search(&settings, &request)?.hits.len() >= 4);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true)?;
        anyhow::Ok(searches)
    };
    let (watched, driven) = tokio::join!(watching, driver);
    let searches = driven?;
    watched?;
    assert!(searches > 0);
    assert!(seen(|e| matches!(e, LiveEvent::Degraded(_))));
    assert!(seen(|e| *e == LiveEvent::Recovered));
    assert_eq!(lib.engine.store().status(0).await?.ok, 7);
    Ok(())
}

/// The registry has a handler for every kind: a library with every stage on ends its first
/// pass with no job of any kind left, and each stage complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_job_is_run_by_its_handler() -> anyhow::Result<()> {
    let lib = Library::with(|s| {
        s.watch.debounce_ms = 50;
        s.watch.rescan_minutes = 0;
        s.captions.enabled = true;
        s.captions.languages = vec!["en".to_owned()];
        s.models.captioner = "flaky".to_owned();
        s.tags.enabled = true;
        s.search.min_similarity = -1.0;
    })
    .await?;
    for i in 0..3 {
        lib.put(&format!("{i}.jpg"), &jpeg(40, 30, i)?)?;
    }
    lib.engine.add_root(&lib.photos).await?;
    let clip = Arc::new(lib.engine.clip(Some(&clip_tiny()))?);
    let live = lib.engine.live_search(Arc::clone(&clip)).await?;
    let captioner = Flaky::default();
    captioner.fixed.store(true, Ordering::SeqCst);
    let models = LiveModels {
        clip: Some(Arc::clone(&clip)),
        captioner: Some(&captioner),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let report = |event: &LiveEvent| {
        if *event == LiveEvent::Idle {
            let _ = stop.send(true);
        }
    };
    tokio::time::timeout(
        Duration::from_secs(60),
        lib.engine.watch(&models, Some(&live), stopped, &report),
    )
    .await??;
    let progress = lib.engine.progress().await?;
    for kind in JobKind::ALL {
        let stage = progress
            .stages
            .iter()
            .find(|s| s.stage == kind)
            .ok_or_else(|| anyhow::anyhow!("no {kind} stage"))?;
        assert_eq!((stage.done, stage.total), (3, 3), "{kind}: {stage:?}");
    }
    let left = lib.engine.queue().job_counts().await?;
    assert!(left.is_empty(), "jobs left: {left:?}");
    Ok(())
}
