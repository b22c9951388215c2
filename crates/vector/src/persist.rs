//! Dumps and reloads: a generation folder per dump, switched to atomically.
//!
//! ```text
//! DIR/CURRENT              name of the live generation, replaced by rename
//! DIR/g-<n>/manifest.json  model, dimension, counts, the store's watermark, file checksums
//! DIR/g-<n>/slab.bin       photo id and live flag per slot, then the vectors (LE)
//! DIR/g-<n>/graph.hnsw.*   hnsw_rs's dump of the graph over the int8 codes
//! ```
//!
//! A dump is complete once `CURRENT` names it. Loading checks every checksum before hnsw_rs
//! reads a byte (its reader asserts on bad input), so a partial or corrupt dump is an error,
//! never a panic; the caller compares the watermark with the store's and rebuilds when stale.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use hnsw_rs::prelude::{AnnT, HnswIo};
use serde::{Deserialize, Serialize};
use shoebox_core::PhotoId;

use crate::index::{Graph, VectorIndex, new_graph};
use crate::slab::Slab;
use crate::{Error, IndexParams, Result};

const FORMAT: u32 = 2;
const CURRENT: &str = "CURRENT";
const MANIFEST: &str = "manifest.json";
const SLAB: &str = "slab.bin";
const GRAPH: &str = "graph";
const GRAPH_FILES: [&str; 2] = ["graph.hnsw.graph", "graph.hnsw.data"];

/// A reloaded index and the watermark it was dumped at.
#[derive(Debug)]
pub struct Loaded {
    /// The index.
    pub index: VectorIndex,
    /// What the caller passed to [`VectorIndex::save`].
    pub watermark: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    model_id: String,
    dim: usize,
    slots: usize,
    watermark: String,
    files: Vec<FileSum>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileSum {
    name: String,
    size: u64,
    blake3: String,
}

impl VectorIndex {
    /// Writes the index under `dir` as a new generation and switches to it atomically;
    /// `watermark` ties the dump to the store state it reflects.
    pub fn save(&self, dir: &Path, watermark: &str) -> Result<()> {
        fs_err::create_dir_all(dir).map_err(Error::io(dir))?;
        let previous = current_generation(dir)?;
        let next = previous.as_ref().map_or(0, |(n, _)| n + 1);
        let folder = dir.join(format!("g-{next}"));
        if folder.exists() {
            fs_err::remove_dir_all(&folder).map_err(Error::io(&folder))?;
        }
        fs_err::create_dir_all(&folder).map_err(Error::io(&folder))?;

        let mut files = vec![write_slab(&folder.join(SLAB), self.slab())?];
        // hnsw_rs cannot dump an empty graph; an empty index is its slab alone.
        if self.slab().slots() > 0 {
            let basename = self
                .graph()
                .file_dump(&folder, GRAPH)
                .map_err(|e| Error::corrupt(&folder, format!("hnsw dump failed: {e}")))?;
            if basename != GRAPH {
                return Err(Error::corrupt(
                    &folder,
                    "hnsw dump picked another file name",
                ));
            }
            for name in GRAPH_FILES {
                files.push(sum_file(&folder.join(name), true)?);
            }
        }
        let manifest = Manifest {
            format: FORMAT,
            model_id: self.model_id().to_owned(),
            dim: self.dim(),
            slots: self.slab().slots(),
            watermark: watermark.to_owned(),
            files,
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::corrupt(&folder, e.to_string()))?;
        write_synced(&folder.join(MANIFEST), &json)?;
        sync_dir(&folder)?;

        let tmp = dir.join("CURRENT.tmp");
        write_synced(&tmp, format!("g-{next}\n").as_bytes())?;
        fs_err::rename(&tmp, dir.join(CURRENT)).map_err(Error::io(dir))?;
        sync_dir(dir)?;
        remove_stale_generations(dir, &format!("g-{next}"));
        Ok(())
    }

    /// Reloads the dump under `dir`: `None` when there is none, an error when it is partial,
    /// corrupt or of another model.
    pub fn load(dir: &Path, model_id: &str, params: IndexParams) -> Result<Option<Loaded>> {
        let Some((_, folder)) = current_generation(dir)? else {
            return Ok(None);
        };
        let manifest_path = folder.join(MANIFEST);
        let bytes = fs_err::read(&manifest_path).map_err(Error::io(&manifest_path))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::corrupt(&manifest_path, format!("bad manifest: {e}")))?;
        if manifest.format != FORMAT {
            return Err(Error::corrupt(
                &folder,
                format!("format {}", manifest.format),
            ));
        }
        if manifest.model_id != model_id {
            return Err(Error::corrupt(
                &folder,
                format!("holds model {}, not {model_id}", manifest.model_id),
            ));
        }
        for file in &manifest.files {
            let actual = sum_file(&folder.join(&file.name), false)?;
            if actual.size != file.size || actual.blake3 != file.blake3 {
                return Err(Error::corrupt(
                    folder.join(&file.name),
                    "checksum mismatch (partial or damaged file)",
                ));
            }
        }
        let slab = read_slab(&folder.join(SLAB), manifest.dim, manifest.slots)?;
        let graph = if slab.slots() == 0 {
            new_graph(&params, 0)
        } else {
            load_graph(&folder)?
        };
        if graph.get_nb_point() != slab.slots() {
            return Err(Error::corrupt(&folder, "graph and vectors disagree"));
        }
        let mut index = VectorIndex::from_slab(manifest.model_id, params, slab, graph);
        index.prepare_search();
        Ok(Some(Loaded {
            index,
            watermark: manifest.watermark,
        }))
    }
}

fn load_graph(folder: &Path) -> Result<Graph> {
    // hnsw_rs ties the graph's lifetime to its reader (for memory-mapped vectors, which we do
    // not use), so the reader — a few paths — lives as long as the program.
    let reader: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(folder, GRAPH)));
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let reader = reader;
        reader.load_hnsw()
    }))
    .map_err(|_| Error::corrupt(folder, "hnsw reader panicked"))?
    .map_err(|e| Error::corrupt(folder, format!("hnsw reload failed: {e}")))
}

/// The generation `CURRENT` names, when it names one.
fn current_generation(dir: &Path) -> Result<Option<(u64, PathBuf)>> {
    let path = dir.join(CURRENT);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path)(e)),
    };
    let name = text.trim();
    let number = name
        .strip_prefix("g-")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| Error::corrupt(&path, format!("names {name:?}")))?;
    Ok(Some((number, dir.join(name))))
}

fn remove_stale_generations(dir: &Path, keep: &str) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("g-") && name != keep {
            // Best effort: a leftover folder is retried on the next save.
            let _ = fs_err::remove_dir_all(entry.path());
        }
    }
}

/// Writes a file through a hasher, fsyncs it, and returns its checksum.
struct HashingWriter {
    out: BufWriter<fs_err::File>,
    hasher: blake3::Hasher,
    size: u64,
}

impl HashingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        self.out.write_all(bytes)
    }
}

fn write_slab(path: &Path, slab: &Slab) -> Result<FileSum> {
    let file = fs_err::File::create(path).map_err(Error::io(path))?;
    let mut w = HashingWriter {
        out: BufWriter::new(file),
        hasher: blake3::Hasher::new(),
        size: 0,
    };
    let io = |e| Error::io(path)(e);
    for photo in slab.photos() {
        w.write(&photo.0.to_le_bytes()).map_err(io)?;
    }
    let live: Vec<u8> = (0..slab.slots())
        .map(|s| u8::from(slab.is_live(s)))
        .collect();
    w.write(&live).map_err(io)?;
    for chunk in slab.data().chunks(4096) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        w.write(&bytes).map_err(io)?;
    }
    let file = w.out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(FileSum {
        name: SLAB.to_owned(),
        size: w.size,
        blake3: w.hasher.finalize().to_hex().to_string(),
    })
}

fn read_slab(path: &Path, dim: usize, slots: usize) -> Result<Slab> {
    let file = fs_err::File::open(path).map_err(Error::io(path))?;
    let mut r = BufReader::new(file);
    let io = |e| Error::io(path)(e);
    let mut ids = vec![0u8; slots * 8];
    r.read_exact(&mut ids).map_err(io)?;
    let photos = ids
        .chunks_exact(8)
        .map(|b| PhotoId(i64::from_le_bytes(b.try_into().unwrap_or_default())))
        .collect();
    let mut live = vec![0u8; slots];
    r.read_exact(&mut live).map_err(io)?;
    let live: Vec<bool> = live.into_iter().map(|b| b == 1).collect();
    let mut data = Vec::with_capacity(slots * dim);
    let mut buf = vec![0u8; 4 * 4096];
    let mut left = slots * dim;
    while left > 0 {
        let n = left.min(4096);
        r.read_exact(&mut buf[..4 * n]).map_err(io)?;
        data.extend(
            buf[..4 * n]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap_or_default())),
        );
        left -= n;
    }
    Ok(Slab::from_parts(dim, photos, &live, data))
}

/// Size and BLAKE3 of a file, fsyncing it first when `sync` (files another library wrote).
fn sum_file(path: &Path, sync: bool) -> Result<FileSum> {
    let io = |e| Error::io(path)(e);
    let mut file = fs_err::File::open(path).map_err(io)?;
    if sync {
        file.sync_all().map_err(io)?;
    }
    let mut hasher = blake3::Hasher::new();
    let size = std::io::copy(&mut file, &mut hasher).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(FileSum {
        name,
        size,
        blake3: hasher.finalize().to_hex().to_string(),
    })
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = fs_err::File::create(path).map_err(Error::io(path))?;
    file.write_all(bytes).map_err(Error::io(path))?;
    file.sync_all().map_err(Error::io(path))
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs_err::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}
