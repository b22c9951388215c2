//! Whole text-query latency at 100k photos: tokenize + CLIP text tower (full-size ViT-B/32,
//! random weights) + HNSW + BM25 + fusion + fetching the page's records from SQLite, with the
//! parts timed on their own beside the total.
//!
//! The library is synthetic: 100k CLIP-like image vectors (see `shoebox_testkit::ClipLike`),
//! photo records in a real SQLite store, and a text index whose folder names are drawn from a
//! small vocabulary the queries use too.
//!
//! How to run (the checkpoint is made by `crates/ml/benches/clip_ort.py export DIR`):
//!
//! ```sh
//! SHOEBOX_BENCH_CLIP=/tmp/clip-b32 cargo bench -p shoebox-engine --bench search
//! ```
//!
//! `SHOEBOX_BENCH_PHOTOS` changes the library size (default 100000).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use shoebox_core::{FileStamp, MetadataStore, PhotoId, PhotoWrite, QueryTerm, SearchFilters};
use shoebox_engine::{SearchIndices, SearchRequest, SearchSettings, search};
use shoebox_ml::Clip;
use shoebox_store::SqliteStore;
use shoebox_testkit::{ClipLike, indexed_record};
use shoebox_text::{TextDoc, TextIndex};
use shoebox_vector::{Filter, IndexParams, VectorIndex};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORDS: [&str; 40] = [
    "beach", "dog", "cat", "mountain", "snow", "city", "night", "sunset", "birthday", "cake",
    "wedding", "garden", "flower", "car", "bicycle", "train", "forest", "lake", "river", "boat",
    "kitchen", "party", "concert", "museum", "bridge", "tower", "market", "harbour", "desert",
    "island", "school", "football", "picnic", "camping", "skiing", "hiking", "zoo", "castle",
    "church", "festival",
];
const QUERIES: usize = 300;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("SHOEBOX_BENCH_PHOTOS")
        .map_or(Ok(100_000), |v| v.parse())
        .context("SHOEBOX_BENCH_PHOTOS")?;
    let dir = PathBuf::from(std::env::var_os("SHOEBOX_BENCH_CLIP").context(
        "set SHOEBOX_BENCH_CLIP to a full-size checkpoint made by crates/ml/benches/clip_ort.py export DIR",
    )?);
    let clip = Clip::load(&dir, "vit-b32-random", &shoebox_ml::Device::Cpu)?;
    let data = tempfile::tempdir()?;
    let store = SqliteStore::open(&data.path().join("shoebox.db")).await?;
    let root = store.add_root(data.path()).await?.0.id;

    let started = Instant::now();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut word = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        WORDS[(rng % WORDS.len() as u64) as usize]
    };
    let paths: Vec<String> = (0..n)
        .map(|i| format!("{}/{}_{}/IMG_{i:06}.jpg", 2000 + i % 25, word(), word()))
        .collect();
    for chunk in paths.chunks(5_000) {
        store
            .apply(chunk.iter().map(|p| insert(root, p)).collect())
            .await?;
    }
    let photos = store.live_photos().await?;
    let text = TextIndex::open(&data.path().join("text"))?;
    for p in &photos {
        text.upsert(&TextDoc {
            photo: p.id,
            root: root.0,
            rel_path: p.rel_path.clone(),
            captions: Vec::new(),
            tags: Vec::new(),
            camera: Some("Google Pixel 7".to_owned()),
            lens: None,
            taken: None,
            media: "photo".to_owned(),
        })?;
    }
    text.commit("bench")?;
    let vectors = ClipLike::new(clip.dim(), n / 100, 5).sample(n, 6);
    let mut vector = VectorIndex::new(clip.model_id(), clip.dim(), IndexParams::default());
    let items: Vec<(PhotoId, &[f32])> = photos
        .iter()
        .map(|p| p.id)
        .zip(vectors.iter().map(Vec::as_slice))
        .collect();
    vector.insert_batch(&items)?;
    vector.prepare_search();
    let indices = SearchIndices { vector, text };
    println!(
        "library of {n} photos built in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let settings = SearchSettings {
        candidates: 200,
        rrf_k: 60.0,
        clip_weight: 1.0,
        text_weight: 1.0,
        min_similarity: -1.0,
        model_min_similarity: HashMap::new(),
    };
    let queries: Vec<String> = (0..QUERIES)
        .map(|i| match i % 3 {
            0 => format!("a photo of a {} at the {}", word(), word()),
            1 => format!("{} {}", word(), word()),
            _ => format!("{} {} -{}", word(), word(), word()),
        })
        .collect();
    let mut parts: [(&str, Vec<f64>); 5] = [
        ("text tower (tokenize + forward)", Vec::new()),
        ("HNSW top 200", Vec::new()),
        ("BM25 top 200", Vec::new()),
        ("whole query (search + fetch 20 records)", Vec::new()),
        ("fetch 20 records", Vec::new()),
    ];
    for query in &queries {
        let t = Instant::now();
        let embedding = clip.embed_texts(&[query.as_str()])?;
        parts[0].1.push(ms(t));
        let t = Instant::now();
        indices
            .vector
            .search(&embedding[0].vector, 200, Filter::All)?;
        parts[1].1.push(ms(t));
        let t = Instant::now();
        let term = QueryTerm {
            text: query.clone(),
            weight: 1.0,
        };
        indices
            .text
            .search(&[term], &[], &SearchFilters::default(), 200)?;
        parts[2].1.push(ms(t));

        let t = Instant::now();
        let request = SearchRequest {
            query: query.clone(),
            limit: 20,
            ..SearchRequest::default()
        };
        let page = search(&indices, &clip, &settings, &request)?;
        let f = Instant::now();
        for hit in &page.hits {
            store.photo(hit.photo).await?;
        }
        parts[4].1.push(ms(f));
        parts[3].1.push(ms(t));
    }
    println!();
    println!("| {n} photos, {QUERIES} queries, CPU | p50 ms | p99 ms |");
    println!("|---|---:|---:|");
    for (name, times) in &mut parts {
        times.sort_by(f64::total_cmp);
        let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        println!("| {name} | {:.2} | {:.2} |", at(0.5), at(0.99));
    }
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn insert(root: shoebox_core::RootId, rel_path: &str) -> PhotoWrite {
    let stamp = FileStamp {
        size: 1,
        mtime_ns: 1,
    };
    let hash = shoebox_core::ContentHash(*blake3::hash(rel_path.as_bytes()).as_bytes());
    indexed_record(root, rel_path.to_owned(), stamp, hash)
}
