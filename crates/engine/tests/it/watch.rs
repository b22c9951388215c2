//! The live library follows a tree through creates, modifications, deletes, renames and moves
//! of files and folders — with notifications and with polling — until the store and both
//! indices equal the tree. Waiting is by polling state with a deadline, never a fixed sleep.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shoebox_core::{PhotoId, SearchFilters};
use shoebox_engine::{LiveEvent, LiveModels, SearchIndices, WatchMode};
use shoebox_testkit::{jpeg, with_comment};

use crate::common::{Library, disk};

fn clip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clip-tiny")
}

/// A small photo whose bytes (and hash) are its own.
fn photo(seed: u64) -> anyhow::Result<Vec<u8>> {
    with_comment(&jpeg(48, 32, seed % 5)?, &format!("photo {seed}"))
}

/// One change to the tree.
type Step = (&'static str, fn(&Library) -> anyhow::Result<()>);

fn steps() -> Vec<Step> {
    vec![
        ("create files", |l| {
            l.put("new/1.jpg", &photo(10)?)?;
            l.put("new/2.jpg", &photo(11)?)?;
            Ok(())
        }),
        ("modify a file", |l| {
            l.put("a/1.jpg", &photo(12)?)?;
            Ok(())
        }),
        ("delete a file", |l| {
            Ok(fs_err::remove_file(l.photos.join("a/2.jpg"))?)
        }),
        ("rename a file", |l| {
            Ok(fs_err::rename(
                l.photos.join("a/3.jpg"),
                l.photos.join("a/three.jpg"),
            )?)
        }),
        ("move a file to another folder", |l| {
            Ok(fs_err::rename(
                l.photos.join("b/1.jpg"),
                l.photos.join("new/moved.jpg"),
            )?)
        }),
        ("create a folder with files", |l| {
            for i in 0..3 {
                l.put(&format!("c/deep/{i}.jpg"), &photo(20 + i)?)?;
            }
            Ok(())
        }),
        ("rename a folder", |l| {
            Ok(fs_err::rename(l.photos.join("c"), l.photos.join("c2"))?)
        }),
        ("move a folder into another", |l| {
            Ok(fs_err::rename(
                l.photos.join("c2/deep"),
                l.photos.join("b/deep"),
            )?)
        }),
        ("delete a folder", |l| {
            Ok(fs_err::remove_dir_all(l.photos.join("new"))?)
        }),
    ]
}

/// The store's live photos by path, and their ids.
async fn live_records(lib: &Library) -> anyhow::Result<(BTreeSet<String>, BTreeSet<PhotoId>)> {
    let live = lib.live().await?;
    Ok((
        live.keys().cloned().collect(),
        live.values().map(|r| r.id).collect(),
    ))
}

/// Whether the store's live records are the files on disk.
async fn store_is_tree(lib: &Library) -> anyhow::Result<bool> {
    let on_disk: BTreeSet<String> = disk(&lib.photos)?.into_keys().collect();
    Ok(live_records(lib).await?.0 == on_disk)
}

async fn follows_the_tree(mode: WatchMode) -> anyhow::Result<()> {
    let lib = Library::with(|s| {
        s.watch.mode = mode;
        s.watch.debounce_ms = 50;
        s.watch.poll_seconds = 1;
        s.watch.rescan_minutes = 0;
        s.captions.enabled = false;
    })
    .await?;
    for (i, rel) in ["a/1.jpg", "a/2.jpg", "a/3.jpg", "b/1.jpg"]
        .iter()
        .enumerate()
    {
        lib.put(rel, &photo(i as u64)?)?;
    }
    lib.engine.add_root(&lib.photos).await?;
    let clip = Arc::new(lib.engine.clip(Some(&clip_tiny()))?);
    let live = lib.engine.live_search(Arc::clone(&clip)).await?;
    let idle = AtomicUsize::new(0);
    let report = |event: &LiveEvent| {
        if *event == LiveEvent::Idle {
            idle.fetch_add(1, Ordering::SeqCst);
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let models = LiveModels {
        clip: Some(clip),
        captioner: None,
    };
    let watching = lib.engine.watch(&models, Some(&live), stopped, &report);
    let driver = async {
        // The start-up reconciliation, then each step: the library is idle again and the
        // store is the tree.
        let mut seen = 0;
        for (name, step) in [("start-up scan", (|_: &Library| Ok(())) as fn(&Library) -> _)]
            .into_iter()
            .chain(steps())
        {
            step(&lib)?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let now_idle = idle.load(Ordering::SeqCst);
                if now_idle > seen && store_is_tree(&lib).await? {
                    seen = now_idle;
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "{mode:?}: {name}: not followed in time"
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        stop.send(true)?;
        anyhow::Ok(())
    };
    let (watched, driven) = tokio::join!(watching, driver);
    driven?;
    watched?;
    let (paths, ids) = live_records(&lib).await?;
    assert_eq!(paths, disk(&lib.photos)?.into_keys().collect());
    live.with_indices(|indices| assert_indices_are(&ids, indices))
}

/// The vector index holds exactly the live photos `ids`, and so does the text index.
fn assert_indices_are(ids: &BTreeSet<PhotoId>, indices: &SearchIndices) -> anyhow::Result<()> {
    let vectors: BTreeSet<PhotoId> = indices.vector.photos().into_iter().collect();
    assert_eq!(&vectors, ids, "vector index");
    let texts: BTreeSet<PhotoId> = indices
        .text
        .photos(&SearchFilters::default())?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(&texts, ids, "text index");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_follow_creates_modifies_deletes_renames_and_moves() -> anyhow::Result<()> {
    follows_the_tree(WatchMode::Native).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_follows_the_same_tree_without_notifications() -> anyhow::Result<()> {
    follows_the_tree(WatchMode::Poll).await
}

/// A copy of the tiny CLIP checkpoint under another name: another model to swap to.
fn second_model(dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    let copy = dir.join("clip-tiny-b");
    fs_err::create_dir_all(&copy)?;
    for entry in fs_err::read_dir(clip_tiny())? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs_err::copy(entry.path(), copy.join(entry.file_name()))?;
        }
    }
    Ok(copy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_swap_re_embeds_while_the_old_model_answers_then_switches() -> anyhow::Result<()> {
    const PHOTOS: u64 = 150;
    let lib = Library::with(|s| {
        s.watch.debounce_ms = 50;
        s.watch.rescan_minutes = 0;
        s.captions.enabled = false;
        s.tags.enabled = false;
        s.indexer.batch_size = 32;
        // Random weights: every similarity counts.
        s.search.min_similarity = -1.0;
    })
    .await?;
    for i in 0..PHOTOS {
        lib.put(&format!("p/{i:03}.jpg"), &photo(100 + i)?)?;
    }
    lib.engine.add_root(&lib.photos).await?;
    let old = Arc::new(lib.engine.clip(Some(&clip_tiny()))?);
    // Indexed with the old model, as a running library would be.
    lib.scan().await?;
    let mut indices = lib.engine.indices(&old).await?;
    lib.engine
        .embed_library(&old, &mut indices, &|_, _| {})
        .await?;
    drop(indices);
    let live = lib.engine.live_search(Arc::clone(&old)).await?;

    let models_dir = tempfile::tempdir()?;
    let new = Arc::new(lib.engine.clip(Some(&second_model(models_dir.path())?))?);
    let new_id = new.model_id().to_owned();
    let events = std::sync::Mutex::new(Vec::new());
    let report = |event: &LiveEvent| {
        if let Ok(mut events) = events.lock() {
            events.push(event.clone());
        }
    };
    let switched = || {
        events
            .lock()
            .map(|e| e.iter().any(|e| matches!(e, LiveEvent::Switched(_))))
            .unwrap_or(false)
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let models = LiveModels {
        clip: Some(Arc::clone(&new)),
        captioner: None,
    };
    let watching = lib.engine.watch(&models, Some(&live), stopped, &report);
    let settings = lib.engine.settings().search.clone();
    let request = shoebox_engine::SearchRequest {
        query: "a photo".to_owned(),
        limit: 10,
        ..shoebox_engine::SearchRequest::default()
    };
    let driver = async {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut during = 0;
        while !switched() {
            // Searches answer all along, from the old model's complete index.
            let model = live.model_id();
            let page = live.search(&settings, &request)?;
            if model == old.model_id() {
                assert_eq!(page.hits.len(), 10, "the old index answers in full");
                during += 1;
            }
            anyhow::ensure!(Instant::now() < deadline, "the swap did not finish in time");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(during > 0, "no search ran during the swap");
        stop.send(true)?;
        anyhow::Ok(during)
    };
    let (watched, driven) = tokio::join!(watching, driver);
    let during = driven?;
    watched?;

    assert_eq!(live.model_id(), new_id, "switched to the new model");
    let page = live.search(&settings, &request)?;
    assert_eq!(page.hits.len(), 10);
    let vectors = live.with_indices(|i| (i.vector.model_id().to_owned(), i.vector.len()));
    assert_eq!(
        vectors,
        (new_id.clone(), PHOTOS as usize),
        "every photo in the new index"
    );
    assert_eq!(lib.engine.active_model().as_deref(), Some(new_id.as_str()));
    let events = events.lock().map(|e| e.clone()).unwrap_or_default();
    let reembedded: usize = events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::Pass(p) => Some(p.reembedded),
            _ => None,
        })
        .sum();
    assert_eq!(reembedded, PHOTOS as usize, "each photo re-embedded once");
    assert!(
        matches!(events.first(), Some(LiveEvent::Swapping { to, .. }) if *to == new_id),
        "{events:?}"
    );
    eprintln!("{during} searches answered during the swap");
    Ok(())
}
