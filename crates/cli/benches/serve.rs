//! `shoebox serve` under load, and how soon it answers after starting.
//!
//! The library: `SHOEBOX_BENCH_PHOTOS` (100,000) photo records in a real data directory, each
//! with a CLIP-like vector stored as the full-size ViT-B/32's embedding (random weights; see
//! `shoebox_testkit::ClipLike`), folder names drawn from a small vocabulary the queries use
//! too, zero-shot tags from the same vectors, and both indices built and saved by the engine
//! as `shoebox index` leaves them. Its root is unmounted (the folder is gone), as a NAS that
//! is off: the records stay, the watcher reports the root unreachable.
//!
//! Then the real binary: `shoebox serve` is started three times and timed from spawn to its
//! first answered search; and once more for the load — one client searching for
//! `SHOEBOX_BENCH_SECONDS`/4, then `SHOEBOX_BENCH_CLIENTS` (50) clients at once for
//! `SHOEBOX_BENCH_SECONDS` (60), each sending its next search as the last one is answered,
//! on keep-alive connections with an API token. Queries are random two- and three-word
//! phrases, some with a negative term; every search runs the text tower, HNSW and BM25.
//!
//! ```sh
//! cargo build --release -p shoebox
//! SHOEBOX_BENCH_CLIP=/tmp/clip-b32 cargo bench -p shoebox --bench serve
//! SHOEBOX_BENCH_DATA=/tmp/serve-bench ...   # keep (and reuse) the library
//! ```
//!
//! The checkpoint is made by `crates/ml/benches/clip_ort.py export DIR`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use shoebox_core::{ContentHash, FileStamp, MetadataStore, PhotoWrite, RootId, StoredEmbedding};
use shoebox_engine::{Engine, Settings};
use shoebox_testkit::{ClipLike, indexed_record};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const WORDS: [&str; 40] = [
    "beach", "dog", "cat", "mountain", "snow", "city", "night", "sunset", "birthday", "cake",
    "wedding", "garden", "flower", "car", "bicycle", "train", "forest", "lake", "river", "boat",
    "kitchen", "party", "concert", "museum", "bridge", "tower", "market", "harbour", "desert",
    "island", "school", "football", "picnic", "camping", "skiing", "hiking", "zoo", "castle",
    "church", "festival",
];
const PASSWORD: &str = "a long enough password";

fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    std::env::var(name).ok().map_or(Ok(default), |v| {
        v.parse().with_context(|| format!("{name}={v}"))
    })
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn word(&mut self) -> &'static str {
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }

    /// A search as a person types it, URL-encoded.
    fn query(&mut self) -> String {
        let q = match self.next() % 3 {
            0 => format!("a photo of a {} at the {}", self.word(), self.word()),
            1 => format!("{} {}", self.word(), self.word()),
            _ => format!("{} {} -{}", self.word(), self.word(), self.word()),
        };
        q.replace(' ', "%20")
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clip_dir = PathBuf::from(std::env::var_os("SHOEBOX_BENCH_CLIP").context(
        "set SHOEBOX_BENCH_CLIP to a full-size checkpoint made by crates/ml/benches/clip_ort.py export DIR",
    )?);
    let n = env_number("SHOEBOX_BENCH_PHOTOS", 100_000)?;
    let clients = env_number("SHOEBOX_BENCH_CLIENTS", 50)?;
    let seconds = env_number("SHOEBOX_BENCH_SECONDS", 60)?;
    let temp = tempfile::tempdir()?;
    let data = std::env::var_os("SHOEBOX_BENCH_DATA")
        .map_or_else(|| temp.path().to_owned(), PathBuf::from);
    let marker = data.join(format!("bench-library-{n}"));
    if !marker.exists() {
        build_library(&data, &clip_dir, n).await?;
        fs_err::write(&marker, "")?;
    }

    let port = free_port()?;
    let server = Server::start(&data, &clip_dir, port)?;
    let token = sign_in(port).await?;
    drop(server);

    let mut starts = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let server = Server::start(&data, &clip_dir, port)?;
        let mut rng = Rng(7);
        loop {
            let answered = match Client::connect(port).await {
                Ok(mut c) => c.search(&token, &rng.query()).await.is_ok_and(|s| s == 200),
                Err(_) => false,
            };
            if answered {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(300),
                "no answer in 5 minutes"
            );
            tokio::task::yield_now().await;
        }
        starts.push(started.elapsed().as_secs_f64());
        drop(server);
    }

    let server = Server::start(&data, &clip_dir, port)?;
    wait_ready(port).await?;
    let rss_idle = shoebox_testkit::process_rss_mib(server.pid(), "VmRSS:");
    let single = load(port, &token, 1, Duration::from_secs((seconds / 4).max(5))).await?;
    let many = load(port, &token, clients, Duration::from_secs(seconds)).await?;
    let rss_peak = shoebox_testkit::process_rss_mib(server.pid(), "VmHWM:");
    drop(server);

    println!("\n`shoebox serve`, {n} photos, full-size ViT-B/32 (random weights), loopback\n");
    println!("| clients | searches | per second | p50 ms | p99 ms | max ms | errors |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (c, r) in [(1, &single), (clients, &many)] {
        println!(
            "| {c} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            r.latencies.len(),
            r.latencies.len() as f64 / r.seconds,
            percentile(&r.latencies, 0.50),
            percentile(&r.latencies, 0.99),
            percentile(&r.latencies, 1.0),
            r.errors
        );
    }
    let ratio = percentile(&many.latencies, 0.99) / percentile(&single.latencies, 0.99);
    println!("\np99 with {clients} clients / p99 with one: {ratio:.2}");
    println!(
        "time from spawn to the first answered search: {}",
        starts
            .iter()
            .map(|s| format!("{s:.2} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("server memory: {rss_idle:.0} MiB ready, {rss_peak:.0} MiB peak");
    Ok(())
}

/// The library of `n` records, embeddings, tags and saved indices in `data`.
async fn build_library(data: &Path, clip_dir: &Path, n: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut settings = Settings::default();
    settings.storage.data_dir = data.to_owned();
    let engine = Engine::open(settings).await?;
    let photos_dir = data.join("photos");
    fs_err::create_dir_all(&photos_dir)?;
    let root = engine.add_root(&photos_dir).await?.0.id;
    fs_err::remove_dir(&photos_dir)?;
    let clip = engine.clip(Some(clip_dir))?;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let store = engine.store();
    let writes: Vec<PhotoWrite> = (0..n)
        .map(|i| {
            let rel = format!(
                "{}/{}_{}/IMG_{i:06}.jpg",
                2000 + i % 25,
                rng.word(),
                rng.word()
            );
            record(root, rel, i)
        })
        .collect();
    for chunk in writes.chunks(5_000) {
        store.apply(chunk.to_vec()).await?;
    }
    let photos = store.live_photos().await?;
    let vectors = ClipLike::new(clip.dim(), (n / 100) as usize, 5).sample(photos.len(), 6);
    let mut embeddings = Vec::with_capacity(photos.len());
    for (photo, vector) in photos.iter().zip(vectors) {
        let hash = photo.hash.context("a record without a hash")?;
        embeddings.push(StoredEmbedding {
            photo: photo.id,
            hash,
            vector,
        });
    }
    while !embeddings.is_empty() {
        let rest = embeddings.split_off(embeddings.len().saturating_sub(5_000));
        store.put_embeddings(clip.model_id(), rest).await?;
    }
    drop(engine.indices(&clip).await?);
    engine.tag_library(&clip).await?;
    println!(
        "library of {n} photos built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn record(root: RootId, rel_path: String, i: u64) -> PhotoWrite {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&i.to_le_bytes());
    let stamp = FileStamp {
        size: 1,
        mtime_ns: 1,
    };
    indexed_record(root, rel_path, stamp, ContentHash(hash))
}

/// A `shoebox serve` process, stopped (SIGTERM, then waited for) when dropped.
struct Server(Child);

impl Server {
    fn start(data: &Path, clip_dir: &Path, port: u16) -> anyhow::Result<Self> {
        let child = Command::new(env!("CARGO_BIN_EXE_shoebox"))
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--no-caption", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--model-dir")
            .arg(clip_dir)
            .env("XDG_CONFIG_HOME", data.join("config"))
            .env("SHOEBOX_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self(child))
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(port: u16) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if let Ok(mut c) = Client::connect(port).await
            && c.request("GET", "/readyz", &[], None)
                .await
                .is_ok_and(|(s, _)| s == 200)
        {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sets the admin up (once per library), signs in and makes an API token.
async fn sign_in(port: u16) -> anyhow::Result<String> {
    wait_ready(port).await?;
    let mut c = Client::connect(port).await?;
    let admin = format!(r#"{{"name":"admin","password":"{PASSWORD}"}}"#);
    c.request("POST", "/api/v1/setup", &[], Some(&admin))
        .await?;
    let (status, body) = c
        .request("POST", "/api/v1/login", &[], Some(&admin))
        .await?;
    anyhow::ensure!(status == 200, "login: {status} {body}");
    let signed: serde_json::Value = serde_json::from_str(&body)?;
    let csrf = signed["csrf"].as_str().context("no csrf")?.to_owned();
    let cookie = c.cookie.clone().context("no session cookie")?;
    let (status, body) = c
        .request(
            "POST",
            "/api/v1/tokens",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            Some(r#"{"name":"bench"}"#),
        )
        .await?;
    anyhow::ensure!(status == 201, "token: {status} {body}");
    let made: serde_json::Value = serde_json::from_str(&body)?;
    Ok(made["secret"].as_str().context("no secret")?.to_owned())
}

/// One keep-alive HTTP/1.1 connection: the load generator's client.
struct Client {
    stream: BufReader<TcpStream>,
    cookie: Option<String>,
}

impl Client {
    async fn connect(port: u16) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
            cookie: None,
        })
    }

    async fn search(&mut self, token: &str, query: &str) -> anyhow::Result<u16> {
        let auth = format!("Bearer {token}");
        let path = format!("/api/v1/search?q={query}&limit=20");
        Ok(self
            .request("GET", &path, &[("authorization", &auth)], None)
            .await?
            .0)
    }

    /// Sends a request and reads the whole response: its status and body.
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        json: Option<&str>,
    ) -> anyhow::Result<(u16, String)> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = json.unwrap_or_default();
        if json.is_some() {
            head.push_str("content-type: application/json\r\n");
        }
        head.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
        self.stream.get_mut().write_all(head.as_bytes()).await?;

        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .with_context(|| format!("{method} {path}: no status line"))?
            .parse()?;
        let mut length = 0;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').context("a bad header")?;
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse()?,
                "set-cookie" => {
                    self.cookie = value.trim().split(';').next().map(str::to_owned);
                }
                _ => {}
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// What a load run saw: each answered search's latency (ms) and the failures.
struct Run {
    latencies: Vec<f64>,
    errors: u64,
    seconds: f64,
}

/// `clients` clients searching back to back for `time`.
async fn load(port: u16, token: &str, clients: u64, time: Duration) -> anyhow::Result<Run> {
    let started = Instant::now();
    let deadline = started + time;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (client + 1));
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            let mut conn = None;
            while Instant::now() < deadline {
                if conn.is_none() {
                    conn = Client::connect(port).await.ok();
                }
                let Some(c) = conn.as_mut() else {
                    errors += 1;
                    continue;
                };
                let sent = Instant::now();
                match c.search(&token, &rng.query()).await {
                    Ok(200) => latencies.push(sent.elapsed().as_secs_f64() * 1e3),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        conn = None;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut run = Run {
        latencies: Vec::new(),
        errors: 0,
        seconds: 0.0,
    };
    for task in tasks {
        let (latencies, errors) = task.await?;
        run.latencies.extend(latencies);
        run.errors += errors;
    }
    run.seconds = started.elapsed().as_secs_f64();
    run.latencies.sort_by(f64::total_cmp);
    Ok(run)
}

/// The `q` quantile of sorted values (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
