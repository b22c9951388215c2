//! The live library's costs as the library grows: what runs when nothing changed (an idle
//! pass, a progress tick, `status --json`), one changed photo end to end, searches while the
//! whole library is re-tagged (tags, then the text rebuild the new tags cause), persisting
//! the vector index after one new photo, and resident memory — at each library size.
//!
//! The library is synthetic but real where the live library reads it: N empty files on disk
//! (the start-up reconciliation stats each), their records in SQLite with the files' stamps,
//! an embedding per photo (random unit vectors of the tiny test CLIP's size; no image is
//! decoded for them), and the tiny test CLIP (`tests/fixtures/clip-tiny`) for the one new
//! photo and the queries. The first pass finds a tagger it has not seen and re-tags all N.
//!
//! ```sh
//! cargo bench -p shoebox-engine --bench live                      # 10k and 100k photos
//! SHOEBOX_BENCH_SIZES=10000,100000,1000000 cargo bench -p shoebox-engine --bench live
//! ```

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use shoebox_core::{ContentHash, FileStamp, MetadataStore, RootId, StoredEmbedding};
use shoebox_engine::{Clip, Engine, LiveEvent, LiveModels, LiveSearch, SearchRequest, Settings};
use shoebox_testkit::{ClipLike, indexed_record, jpeg};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Files per folder of the synthetic library.
const PER_FOLDER: usize = 1000;
/// Searches timed when idle.
const SEARCHES: usize = 200;
const WORDS: [&str; 12] = [
    "beach", "dog", "cat", "mountain", "snow", "city", "night", "sunset", "cake", "garden", "lake",
    "boat",
];

/// One size's numbers.
#[derive(Debug, Default)]
struct Row {
    photos: usize,
    setup_s: f64,
    first_pass_s: f64,
    idle_pass_ms: f64,
    before_idle_ms: f64,
    one_photo_ms: f64,
    status_ms: f64,
    progress_ms: f64,
    before_progress_ms: f64,
    search_idle: (f64, f64),
    search_retag: (f64, f64, usize),
    save_ms: f64,
    rss_mib: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::var("SHOEBOX_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".to_owned())
        .split(',')
        .map(|s| s.trim().parse().context("SHOEBOX_BENCH_SIZES"))
        .collect::<anyhow::Result<_>>()?;
    let mut rows = Vec::new();
    for n in sizes {
        let row = measure(n).await?;
        println!("{row:?}");
        rows.push(row);
    }
    let cpu = cpu_name();
    println!();
    println!("Live library costs on {cpu} (2 cores), tiny CLIP; ms unless named");
    println!();
    println!(
        "| photos | idle pass (before: its listings) | one new photo, end to end | status --json | progress tick (before: its listings) | search p50 / p99 idle | search p50 / p99 during re-tag + text rebuild (n) | save vectors after one photo | first pass (re-tag all), s | resident MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.1} ({:.1}) | {:.0} | {:.1} | {:.1} ({:.1}) | {:.2} / {:.2} | {:.2} / {:.2} ({}) | {:.1} | {:.1} | {:.0} |",
            r.photos,
            r.idle_pass_ms,
            r.before_idle_ms,
            r.one_photo_ms,
            r.status_ms,
            r.progress_ms,
            r.before_progress_ms,
            r.search_idle.0,
            r.search_idle.1,
            r.search_retag.0,
            r.search_retag.1,
            r.search_retag.2,
            r.save_ms,
            r.first_pass_s,
            r.rss_mib
        );
    }
    Ok(())
}

async fn measure(n: usize) -> anyhow::Result<Row> {
    let mut row = Row {
        photos: n,
        ..Row::default()
    };
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let photos = dir.path().join("photos");
    fs_err::create_dir_all(photos.join("new"))?;
    let mut settings = Settings::default();
    settings.storage.data_dir = dir.path().join("data");
    settings.watch.debounce_ms = 20;
    settings.watch.rescan_minutes = 0;
    settings.captions.enabled = false;
    settings.tags.enabled = true;
    settings.search.min_similarity = -1.0;
    let engine = Engine::open(settings).await?;
    let root = engine.add_root(&photos).await?.0.id;
    let clip = Arc::new(engine.clip(Some(&clip_tiny()))?);
    synthetic_library(&engine, root, &photos, n, &clip).await?;
    let live = engine.live_search(Arc::clone(&clip)).await?;
    row.setup_s = started.elapsed().as_secs_f64();

    let events: Mutex<Vec<(Instant, LiveEvent)>> = Mutex::new(Vec::new());
    let report = |event: &LiveEvent| {
        if let Ok(mut events) = events.lock() {
            events.push((Instant::now(), event.clone()));
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let models = LiveModels {
        clip: Some(Arc::clone(&clip)),
        captioner: None,
    };
    let watching = engine.watch(&models, Some(&live), stopped, &report);
    let driver = async {
        let idles = || count(&events, |e| *e == LiveEvent::Idle);
        // The first pass: reconciliation, then every photo re-tagged; searches meanwhile.
        let first = Instant::now();
        let busy = AtomicBool::new(true);
        let during = searches_while(&live, &busy, async {
            wait_for(|| idles() >= 1).await;
            busy.store(false, Ordering::SeqCst);
        })
        .await?;
        row.first_pass_s = first.elapsed().as_secs_f64();
        row.search_retag = (
            percentile(&during, 0.5),
            percentile(&during, 0.99),
            during.len(),
        );

        // An idle pass: woken with nothing to do.
        let mut idle = Vec::new();
        for _ in 0..20 {
            let before = idles();
            let t = Instant::now();
            live.nudge();
            wait_for(|| idles() > before).await;
            idle.push(ms(t));
        }
        row.idle_pass_ms = percentile(&idle, 0.5);

        // One new photo: written, seen (debounce included), scanned, embedded, tagged,
        // searchable.
        let mut one = Vec::new();
        for i in 0..5u64 {
            let before = idles();
            let t = Instant::now();
            fs_err::write(photos.join(format!("new/{i}.jpg")), jpeg(64, 48, i)?)?;
            wait_for(|| idles() > before && embedded(&events) > i as usize).await;
            one.push(ms(t));
        }
        row.one_photo_ms = percentile(&one, 0.5);

        let mut status = Vec::new();
        let mut progress = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let snapshot = engine.progress().await?;
            progress.push(ms(t));
            let t = Instant::now();
            // `status --json`: the counts and the same snapshot, as JSON.
            let counts = engine.status(20).await?;
            serde_json::to_string(&(counts, snapshot))?;
            status.push(ms(t) + progress.last().copied().unwrap_or(0.0));
        }
        row.progress_ms = percentile(&progress, 0.5);
        row.status_ms = percentile(&status, 0.5);

        // What the previous code ran instead, timed on this store: each progress tick listed
        // every pending embedding and tagging to count them; each pass listed them to enqueue
        // and loaded every live photo to find stale vectors.
        let snapshot = engine.progress().await?;
        let tagger = snapshot
            .stages
            .iter()
            .find(|s| s.stage == shoebox_core::JobKind::Tag)
            .map(|s| s.model.clone())
            .unwrap_or_default();
        let store = engine.store();
        let model = clip.model_id();
        let mut before_progress = Vec::new();
        let mut before_idle = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            store.status(0).await?;
            store.pending_embeddings(model, u32::MAX).await?;
            store.pending_tagging(model, &tagger, u32::MAX).await?;
            before_progress.push(ms(t));
            let t = Instant::now();
            store.pending_embeddings(model, u32::MAX).await?;
            store.pending_tagging(model, &tagger, u32::MAX).await?;
            store.live_photos().await?;
            before_idle.push(ms(t));
        }
        row.before_progress_ms = percentile(&before_progress, 0.5);
        row.before_idle_ms = percentile(&before_idle, 0.5);

        let idle_searches = timed_searches(&live, SEARCHES)?;
        row.search_idle = (
            percentile(&idle_searches, 0.5),
            percentile(&idle_searches, 0.99),
        );
        stop.send(true)?;
        anyhow::Ok(())
    };
    let (watched, driven) = tokio::join!(watching, driver);
    watched?;
    driven?;

    // Persisting the vector index after one new photo, into a folder it was saved to before.
    let saves = dir.path().join("saves");
    live.with_indices(|i| i.vector.save(&saves, "before"))?;
    let t = Instant::now();
    live.with_indices(|i| i.vector.save(&saves, "after one photo"))?;
    row.save_ms = ms(t);
    row.rss_mib = shoebox_testkit::rss_mib("VmRSS");
    Ok(row)
}

/// N empty files in folders of [`PER_FOLDER`], their records with the files' own stamps (a
/// scan finds them unchanged), and an embedding each.
async fn synthetic_library(
    engine: &Engine,
    root: RootId,
    photos: &Path,
    n: usize,
    clip: &Clip,
) -> anyhow::Result<()> {
    let vectors = ClipLike::new(clip.dim(), (n / 100).max(1), 5);
    for start in (0..n).step_by(PER_FOLDER) {
        let folder = format!("{:04}", start / PER_FOLDER);
        fs_err::create_dir_all(photos.join(&folder))?;
        let mut writes = Vec::new();
        for i in start..(start + PER_FOLDER).min(n) {
            let rel = format!("{folder}/IMG_{i:07}.jpg");
            let path = photos.join(&rel);
            fs_err::write(&path, b"")?;
            let hash = ContentHash(*blake3::hash(rel.as_bytes()).as_bytes());
            writes.push(indexed_record(root, rel, stamp(&path)?, hash));
        }
        engine.store().apply(writes).await?;
    }
    let known = engine.store().known_photos(root).await?;
    for (chunk, seed) in known.chunks(5000).zip(7..) {
        let sample = vectors.sample(chunk.len(), seed);
        let embeddings = chunk
            .iter()
            .zip(sample)
            .filter_map(|(k, vector)| {
                Some(StoredEmbedding {
                    photo: k.id,
                    hash: k.hash?,
                    vector,
                })
            })
            .collect();
        engine
            .store()
            .put_embeddings(clip.model_id(), embeddings)
            .await?;
    }
    Ok(())
}

/// Runs text queries back to back until `until` completes; their times.
async fn searches_while(
    live: &LiveSearch,
    busy: &AtomicBool,
    until: impl std::future::Future<Output = ()>,
) -> anyhow::Result<Vec<f64>> {
    let queries = async {
        let mut times = Vec::new();
        while busy.load(Ordering::SeqCst) {
            // Off the runtime's threads, as the server runs them.
            let t = Instant::now();
            tokio::task::block_in_place(|| live.search(&settings(), &request(times.len())))?;
            times.push(ms(t));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        anyhow::Ok(times)
    };
    let (times, ()) = tokio::join!(queries, until);
    times
}

fn timed_searches(live: &LiveSearch, n: usize) -> anyhow::Result<Vec<f64>> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            live.search(&settings(), &request(i))?;
            Ok(ms(t))
        })
        .collect()
}

fn settings() -> shoebox_engine::SearchSettings {
    Settings::default().search
}

fn request(i: usize) -> SearchRequest {
    SearchRequest {
        query: format!(
            "a {} by the {}",
            WORDS[i % WORDS.len()],
            WORDS[(i / 7) % WORDS.len()]
        ),
        limit: 20,
        ..SearchRequest::default()
    }
}

/// Events of the kind `matches` so far.
fn count(events: &Mutex<Vec<(Instant, LiveEvent)>>, matches: fn(&LiveEvent) -> bool) -> usize {
    events
        .lock()
        .map(|e| e.iter().filter(|(_, e)| matches(e)).count())
        .unwrap_or(0)
}

/// Photos embedded by the passes so far.
fn embedded(events: &Mutex<Vec<(Instant, LiveEvent)>>) -> usize {
    events
        .lock()
        .map(|e| {
            e.iter()
                .map(|(_, e)| match e {
                    LiveEvent::Pass(p) => p.embedded,
                    _ => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn wait_for(done: impl Fn() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn percentile(times: &[f64], p: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        len => sorted[((len - 1) as f64 * p).round() as usize],
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn clip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clip-tiny")
}

fn cpu_name() -> String {
    fs_err::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "an unknown CPU".to_owned())
}

/// A file's stamp as the scan reads it: its size and the later of its mtime and ctime.
fn stamp(path: &Path) -> anyhow::Result<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs_err::metadata(path)?;
    let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
    let ctime = meta.ctime() * 1_000_000_000 + meta.ctime_nsec();
    Ok(FileStamp {
        size: meta.len(),
        mtime_ns: mtime.max(ctime),
    })
}
