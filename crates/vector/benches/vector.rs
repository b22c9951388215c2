//! Vector index speed, memory and recall on CLIP-like data: build time, resident memory,
//! heap bytes, query p50 / p99 and recall@10 at several `ef` (the default marked); exact brute
//! force (what rclip does) and faiss-cpu HNSW (same vectors, same M and efConstruction, run by
//! `faiss_hnsw.py` beside this file) in the same run. Shoebox's graph is walked over int8
//! codes and its candidates rescored in f32 (`quant.rs`). "RSS MiB" is the growth of this
//! process's resident set (`VmRSS` in `/proc/self/status`) across the build; "heap MiB" is
//! [`VectorIndex::heap_bytes`], what the index has allocated.
//!
//! The data is [`ClipLike`]: 512-d unit vectors in clusters around a shared direction (one
//! cluster per 100 vectors), as CLIP image embeddings are — uniform random vectors are a worst
//! case no photo library has.
//!
//! How to run:
//!
//! ```sh
//! python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy==1.26.4 faiss-cpu==1.9.0.post1
//! SHOEBOX_BENCH_SIZES=10000,100000,1000000 SHOEBOX_BENCH_PYTHON=/tmp/venv/bin/python \
//!     cargo bench -p shoebox-vector --bench vector
//! ```
//!
//! Without `SHOEBOX_BENCH_PYTHON` faiss is left out; `SHOEBOX_BENCH_SIZES` defaults to 10000
//! (1M vectors take several minutes to build and about 5 GiB: the vectors and the index).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use shoebox_core::PhotoId;
use shoebox_testkit::{ClipLike, rss_mib};
use shoebox_vector::{Filter, Hit, IndexParams, VectorIndex};

const DIM: usize = 512;
const QUERIES: usize = 500;
const EFS: [usize; 5] = [32, 64, 96, 128, 256];

fn main() -> anyhow::Result<()> {
    let sizes = std::env::var("SHOEBOX_BENCH_SIZES").unwrap_or_else(|_| "10000".to_owned());
    println!("| n | method | ef | build s | RSS MiB | heap MiB | p50 ms | p99 ms | recall@10 |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes.split(',') {
        run(n
            .trim()
            .parse()
            .context("SHOEBOX_BENCH_SIZES: sizes like 10000,100000,1000000")?)?;
    }
    Ok(())
}

fn run(n: usize) -> anyhow::Result<()> {
    let data = ClipLike::new(DIM, (n / 100).max(1), 11);
    let vectors = data.sample(n, 12);
    let queries = data.sample(QUERIES, 13);

    let rss = rss_mib("VmRSS:");
    let started = Instant::now();
    let mut index = build(&vectors)?;
    let build_s = started.elapsed().as_secs_f64();
    let memory = rss_mib("VmRSS:") - rss;
    let heap = index.heap_bytes() as f64 / MIB;

    let (truth, times) = timed(&queries, |q| Ok(index.exact(q, 10, Filter::All)))?;
    let truth: Vec<HashSet<PhotoId>> = truth.iter().map(|h| ids(h)).collect();
    row(
        n,
        "exact scan",
        "–",
        None,
        [(n * DIM * 4) as f64 / MIB; 2],
        &times,
        1.0,
    );
    let default_ef = IndexParams::default().ef_search;
    for ef in EFS {
        index.set_ef_search(ef);
        let (hits, times) = timed(&queries, |q| Ok(index.search(q, 10, Filter::All)?))?;
        let ef = if ef == default_ef {
            format!("**{ef}** (default)")
        } else {
            ef.to_string()
        };
        row(
            n,
            "shoebox HNSW (int8 graph, f32 rescoring)",
            &ef,
            Some(build_s),
            [memory, heap],
            &times,
            recall(&hits, &truth),
        );
    }
    drop(index);

    if let Some(python) = std::env::var_os("SHOEBOX_BENCH_PYTHON") {
        faiss(Path::new(&python), n, &vectors, &queries, &truth)?;
    }
    Ok(())
}

const MIB: f64 = 1024.0 * 1024.0;

/// An index over `vectors` (photo ids 1..), ready to search; the graph is always walked.
fn build(vectors: &[Vec<f32>]) -> anyhow::Result<VectorIndex> {
    let params = IndexParams {
        exact_below: 0,
        ..IndexParams::default()
    };
    let mut index = VectorIndex::new("bench", DIM, params);
    insert(&mut index, vectors)?;
    index.prepare_search();
    Ok(index)
}

fn insert(index: &mut VectorIndex, vectors: &[Vec<f32>]) -> anyhow::Result<()> {
    for (c, chunk) in vectors.chunks(10_000).enumerate() {
        let items: Vec<(PhotoId, &[f32])> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| (PhotoId((c * 10_000 + i + 1) as i64), v.as_slice()))
            .collect();
        index.insert_batch(&items)?;
    }
    Ok(())
}

fn timed(
    queries: &[Vec<f32>],
    mut search: impl FnMut(&[f32]) -> anyhow::Result<Vec<Hit>>,
) -> anyhow::Result<(Vec<Vec<Hit>>, Vec<f64>)> {
    let mut hits = Vec::with_capacity(queries.len());
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        hits.push(search(q)?);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((hits, times))
}

fn ids(hits: &[Hit]) -> HashSet<PhotoId> {
    hits.iter().map(|h| h.photo).collect()
}

fn recall(hits: &[Vec<Hit>], truth: &[HashSet<PhotoId>]) -> f64 {
    let found: usize = hits
        .iter()
        .zip(truth)
        .map(|(h, t)| h.iter().filter(|x| t.contains(&x.photo)).count())
        .sum();
    found as f64 / (10 * truth.len()) as f64
}

fn percentile(times: &[f64], p: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn row(
    n: usize,
    method: &str,
    ef: &str,
    build: Option<f64>,
    [rss, heap]: [f64; 2],
    times: &[f64],
    recall: f64,
) {
    let build = build.map_or_else(|| "–".to_owned(), |b| format!("{b:.1}"));
    let heap = if heap.is_nan() {
        "–".to_owned()
    } else {
        format!("{heap:.0}")
    };
    println!(
        "| {n} | {method} | {ef} | {build} | {rss:.0} | {heap} | {:.3} | {:.3} | {recall:.4} |",
        percentile(times, 0.5),
        percentile(times, 0.99)
    );
}

fn faiss(
    python: &Path,
    n: usize,
    vectors: &[Vec<f32>],
    queries: &[Vec<f32>],
    truth: &[HashSet<PhotoId>],
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_f32(&dir.path().join("base.f32"), vectors)?;
    write_f32(&dir.path().join("queries.f32"), queries)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/faiss_hnsw.py");
    let efs: Vec<String> = EFS.iter().map(ToString::to_string).collect();
    let out = Command::new(python)
        .arg(script)
        .arg(dir.path())
        .arg(DIM.to_string())
        .arg(IndexParams::default().max_connections.to_string())
        .arg(IndexParams::default().ef_construction.to_string())
        .arg(efs.join(","))
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "faiss_hnsw.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let build = report["build_s"].as_f64().unwrap_or(f64::NAN);
    let memory = report["memory_mib"].as_f64().unwrap_or(f64::NAN);
    for run in report["runs"].as_array().into_iter().flatten() {
        let ids: Vec<Vec<i64>> = serde_json::from_value(run["ids"].clone())?;
        let times: Vec<f64> = serde_json::from_value(run["times_ms"].clone())?;
        let hits: Vec<Vec<Hit>> = ids
            .iter()
            .map(|row| {
                row.iter()
                    .map(|i| Hit {
                        photo: PhotoId(i + 1),
                        score: 0.0,
                    })
                    .collect()
            })
            .collect();
        let ef = run["ef"].as_u64().unwrap_or(0).to_string();
        row(
            n,
            "faiss-cpu HNSW (f32)",
            &ef,
            Some(build),
            [memory, f64::NAN],
            &times,
            recall(&hits, truth),
        );
    }
    Ok(())
}

fn write_f32(path: &Path, rows: &[Vec<f32>]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(fs_err::File::create(path)?);
    for row in rows {
        for v in row {
            out.write_all(&v.to_le_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}
