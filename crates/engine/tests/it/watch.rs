//! The live library follows a tree through creates, modifications, deletes, renames and moves
//! of files and folders — with notifications and with polling — until the store and both
//! indices equal the tree. Waiting is by polling state with a deadline, never a fixed sleep.

use std::collections::BTreeSet;
use std::path::PathBuf;
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
async fn live(lib: &Library) -> anyhow::Result<(BTreeSet<String>, BTreeSet<PhotoId>)> {
    let live = lib.live().await?;
    Ok((
        live.keys().cloned().collect(),
        live.values().map(|r| r.id).collect(),
    ))
}

/// Whether the store's live records are the files on disk.
async fn store_is_tree(lib: &Library) -> anyhow::Result<bool> {
    let on_disk: BTreeSet<String> = disk(&lib.photos)?.into_keys().collect();
    Ok(live(lib).await?.0 == on_disk)
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
    let clip = lib.engine.clip(Some(&clip_tiny()))?;
    let mut indices = lib.engine.indices(&clip).await?;
    let idle = AtomicUsize::new(0);
    let report = |event: &LiveEvent| {
        if *event == LiveEvent::Idle {
            idle.fetch_add(1, Ordering::SeqCst);
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let models = LiveModels {
        clip: Some(&clip),
        captioner: None,
    };
    let watching = lib
        .engine
        .watch(models, Some(&mut indices), stopped, &report);
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
    assert_indices_are_the_store(&lib, &indices).await
}

/// The vector index holds exactly the live photos, and so does the text index.
async fn assert_indices_are_the_store(
    lib: &Library,
    indices: &SearchIndices,
) -> anyhow::Result<()> {
    let (paths, ids) = live(lib).await?;
    assert_eq!(paths, disk(&lib.photos)?.into_keys().collect());
    let vectors: BTreeSet<PhotoId> = indices.vector.photos().into_iter().collect();
    assert_eq!(vectors, ids, "vector index");
    let texts: BTreeSet<PhotoId> = indices
        .text
        .photos(&SearchFilters::default())?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(texts, ids, "text index");
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
