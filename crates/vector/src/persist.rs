//! Dumps and reloads: a generation folder per dump, switched to atomically.
//!
//! ```text
//! DIR/CURRENT              name of the live generation, replaced by rename
//! DIR/g-<n>/manifest.json  format, model, dimension, counts, M, entry point, the store's
//!                          watermark, file checksums
//! DIR/g-<n>/slab.bin       photo id and live flag per slot, then the vectors (LE)
//! DIR/g-<n>/graph.bin      each node's level, then its neighbour lists (LE)
//! ```
//!
//! A dump is complete once `CURRENT` names it. Loading checks every checksum before parsing a
//! byte, so a partial or corrupt dump is an error, never a panic; the caller compares the
//! watermark with the store's and rebuilds when stale.

mod snapshot;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, IndexParams, Result, VectorIndex};
use snapshot::FileSum;

/// Version of the layout above; older ones (hnsw_rs dumps) load as `None`.
const FORMAT: u32 = 3;
const CURRENT: &str = "CURRENT";
const MANIFEST: &str = "manifest.json";
const SLAB: &str = "slab.bin";
const GRAPH: &str = "graph.bin";

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
    max_connections: usize,
    entry: Option<(u32, u8)>,
    watermark: String,
    files: Vec<FileSum>,
}

/// The one field every manifest version has.
#[derive(Debug, Deserialize)]
struct Format {
    format: u32,
}

impl VectorIndex {
    /// Writes the index under `dir` as a new generation and switches to it atomically;
    /// `watermark` ties the dump to the store state it reflects.
    pub fn save(&self, dir: &Path, watermark: &str) -> Result<()> {
        self.write_snapshot(dir, watermark)
    }

    fn write_snapshot(&self, dir: &Path, watermark: &str) -> Result<()> {
        fs_err::create_dir_all(dir).map_err(Error::io(dir))?;
        let previous = current_generation(dir)?;
        let next = previous.as_ref().map_or(0, |(n, _)| n + 1);
        let folder = generation_dir(dir, next);
        if folder.exists() {
            fs_err::remove_dir_all(&folder).map_err(Error::io(&folder))?;
        }
        fs_err::create_dir_all(&folder).map_err(Error::io(&folder))?;

        let files = vec![
            snapshot::write_slab(&folder.join(SLAB), self.slab())?,
            snapshot::write_graph(&folder.join(GRAPH), self.graph())?,
        ];
        let manifest = Manifest {
            format: FORMAT,
            model_id: self.model_id().to_owned(),
            dim: self.dim(),
            slots: self.slab().slots(),
            max_connections: self.graph().m(),
            entry: self.graph().entry(),
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

    /// Reloads the dump under `dir`: `None` when there is none or it was dumped in an
    /// older format (the caller rebuilds either way), an error when it is partial, corrupt or
    /// of another model. The graph keeps the `M` it was built with, whatever `params` say.
    pub fn load(dir: &Path, model_id: &str, params: IndexParams) -> Result<Option<Loaded>> {
        let Some((_, folder)) = current_generation(dir)? else {
            return Ok(None);
        };
        let manifest_path = folder.join(MANIFEST);
        let bytes = fs_err::read(&manifest_path).map_err(Error::io(&manifest_path))?;
        let bad =
            |e: serde_json::Error| Error::corrupt(&manifest_path, format!("bad manifest: {e}"));
        let format: Format = serde_json::from_slice(&bytes).map_err(bad)?;
        if format.format < FORMAT {
            return Ok(None);
        }
        if format.format > FORMAT {
            return Err(Error::corrupt(&folder, format!("format {}", format.format)));
        }
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(bad)?;
        if manifest.model_id != model_id {
            return Err(Error::corrupt(
                &folder,
                format!("holds model {}, not {model_id}", manifest.model_id),
            ));
        }
        for name in [SLAB, GRAPH] {
            if !manifest.files.iter().any(|f| f.name == name) {
                return Err(Error::corrupt(&folder, format!("manifest lacks {name}")));
            }
        }
        for file in &manifest.files {
            let actual = snapshot::sum_file(&folder.join(&file.name))?;
            if actual.size != file.size || actual.blake3 != file.blake3 {
                return Err(Error::corrupt(
                    folder.join(&file.name),
                    "checksum mismatch (partial or damaged file)",
                ));
            }
        }
        let slab = snapshot::read_slab(&folder.join(SLAB), manifest.dim, manifest.slots)?;
        let graph = snapshot::read_graph(
            &folder.join(GRAPH),
            manifest.max_connections,
            manifest.slots,
            manifest.entry,
        )?;
        let index = VectorIndex::from_parts(manifest.model_id, params, slab, graph);
        Ok(Some(Loaded {
            index,
            watermark: manifest.watermark,
        }))
    }
}

fn generation_dir(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("g-{generation}"))
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
    Ok(Some((number, generation_dir(dir, number))))
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
