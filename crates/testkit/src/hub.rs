//! A stand-in for the Hugging Face hub on loopback, for testing model downloads without a
//! network: it answers `GET /{repo}/resolve/{revision}/{file}` the way the hub does (a
//! `Range: bytes=0-0` probe with `etag`, `x-repo-commit` and `content-range`, then ranged
//! reads), from files held in memory.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// A running fake hub; it stops with the test process.
#[derive(Debug, Clone)]
pub struct FakeHub {
    endpoint: String,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeHub {
    /// Starts serving on a free loopback port.
    pub fn start() -> crate::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let hub = Self {
            endpoint: format!("http://{}", listener.local_addr()?),
            files: Arc::default(),
            requests: Arc::default(),
        };
        let served = hub.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let hub = served.clone();
                thread::spawn(move || hub.answer(stream));
            }
        });
        Ok(hub)
    }

    /// The address to give the client, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Serves `bytes` as `file` of `repo` at `revision`.
    pub fn put(&self, repo: &str, revision: &str, file: &str, bytes: Vec<u8>) {
        let key = format!("/{repo}/resolve/{revision}/{file}");
        if let Ok(mut files) = self.files.lock() {
            files.insert(key, bytes);
        }
    }

    /// The paths of the file requests answered so far (probes and reads).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn answer(&self, stream: TcpStream) {
        let mut reader = BufReader::new(match stream.try_clone() {
            Ok(s) => s,
            Err(_) => return,
        });
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut from = 0usize;
        let mut to = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(range) = lower.strip_prefix("range: bytes=") {
                let (a, b) = range.trim().split_once('-').unwrap_or(("0", ""));
                from = a.parse().unwrap_or(0);
                to = b.parse::<usize>().ok();
            }
        }
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(path.clone());
        }
        let body = self.files.lock().ok().and_then(|f| f.get(&path).cloned());
        let response = match body {
            Some(bytes) => {
                let tag = etag(&bytes);
                let commit = path.split('/').nth(4).unwrap_or("");
                let end = to
                    .unwrap_or(bytes.len().saturating_sub(1))
                    .min(bytes.len().saturating_sub(1));
                let part = bytes.get(from..=end).unwrap_or(&[]);
                let mut head = format!(
                    "HTTP/1.1 206 Partial Content\r\netag: \"{tag}\"\r\nx-repo-commit: {commit}\r\n\
                     content-range: bytes {from}-{end}/{}\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n",
                    bytes.len(),
                    part.len()
                )
                .into_bytes();
                head.extend_from_slice(part);
                head
            }
            None => {
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
            }
        };
        let mut stream = stream;
        let _ = stream.write_all(&response);
    }
}

/// A stable tag per content (FNV-1a), which the client uses to name its cache entries; the
/// real hub sends the SHA-256 here, which the product never trusts in place of its catalog.
fn etag(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
