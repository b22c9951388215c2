//! Saves and loads: a snapshot per generation folder, switched to atomically, and beside it a
//! log of the changes saved since, so that saving one new photo writes that photo, not every
//! vector.
//!
//! ```text
//! DIR/CURRENT              name of the live generation, replaced by rename
//! DIR/g-<n>/manifest.json  format, model, dimension, counts, M, entry point, the store's
//!                          watermark, snapshot file checksums
//! DIR/g-<n>/slab.bin       photo id and live flag per slot, then the vectors (LE)
//! DIR/g-<n>/graph.bin      each node's level, then its neighbour lists (LE)
//! DIR/g-<n>/log.bin        the changes saved since the snapshot (`persist/log.rs`)
//! ```
//!
//! A save appends to the log when this index was saved to or loaded from the generation
//! `CURRENT` names, the log is still as long as that left it, and it stays under a quarter of
//! the snapshot's size (or 1 MiB); otherwise — a fresh or compacted index, another folder, a
//! log grown large — it writes a new generation. A new generation counts once `CURRENT`
//! names it, an append once its commit record is on disk: a crash mid-save leaves the
//! previous state loadable. Loading checks every snapshot checksum before parsing a byte,
//! then replays the log's committed records, so a partial or corrupt snapshot is an error,
//! never a panic; the caller compares the watermark with the store's and rebuilds when stale.

mod log;
mod snapshot;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use serde::{Deserialize, Serialize};

use crate::journal::{Journal, SavedAt};
use crate::{Error, IndexParams, Result, VectorIndex};
use snapshot::FileSum;

/// Version of the layout above; older ones (hnsw_rs dumps) load as `None`.
const FORMAT: u32 = 3;
const CURRENT: &str = "CURRENT";
const MANIFEST: &str = "manifest.json";
const SLAB: &str = "slab.bin";
const GRAPH: &str = "graph.bin";
const LOG: &str = "log.bin";
/// The log may grow to this fraction of the snapshot before a save writes a new one…
const LOG_SHARE: u64 = 4;
/// …or to this many bytes, whichever is more.
const MIN_LOG: u64 = 1 << 20;

/// A reloaded index and the watermark it was saved at.
#[derive(Debug)]
pub struct Loaded {
    /// The index.
    pub index: VectorIndex,
    /// What the caller passed to the last [`VectorIndex::save`].
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
    /// Saves the index under `dir` — the changes since its last save or load appended to the
    /// log there, or a new snapshot switched to atomically — tied by `watermark` to the store
    /// state it reflects. After it returns, [`Self::load`] gives back this index and
    /// `watermark`.
    pub fn save(&self, dir: &Path, watermark: &str) -> Result<()> {
        let mut journal = self
            .journal()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let saved = match self.appendable(&journal, dir)? {
            Some(mut at) => {
                let folder = generation_dir(dir, at.generation);
                let created = at.log_len == 0;
                at.log_len += log::append(&folder.join(LOG), self, &journal.changes, watermark)?;
                if created {
                    // The log may be new: its folder entry must be durable too.
                    sync_dir(&folder)?;
                }
                at
            }
            None => self.write_snapshot(dir, watermark)?,
        };
        journal.changes.clear();
        journal.saved = Some(saved);
        self.graph().clear_changed();
        Ok(())
    }

    /// Where the changes can be appended: the last save or load of this index, when it was
    /// under `dir`, is still current there, and the log stays small enough.
    fn appendable(&self, journal: &Journal, dir: &Path) -> Result<Option<SavedAt>> {
        let Some(at) = journal.saved.as_ref().filter(|at| at.dir == dir) else {
            return Ok(None);
        };
        if current_generation(dir)?.map(|(n, _)| n) != Some(at.generation) {
            return Ok(None);
        }
        let path = generation_dir(dir, at.generation).join(LOG);
        let len = match fs_err::metadata(&path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(Error::io(&path)(e)),
        };
        let limit = (at.snapshot_len / LOG_SHARE).max(MIN_LOG);
        let grown = at.log_len + log::estimate(self, &journal.changes);
        Ok((len == at.log_len && grown <= limit).then(|| at.clone()))
    }

    fn write_snapshot(&self, dir: &Path, watermark: &str) -> Result<SavedAt> {
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
        Ok(SavedAt {
            dir: dir.to_path_buf(),
            generation: next,
            log_len: 0,
            snapshot_len: snapshot_len(&manifest, json.len()),
        })
    }

    /// Reloads the index saved under `dir`: `None` when there is none or it was saved in an
    /// older format (the caller rebuilds either way), an error when it is partial, corrupt or
    /// of another model. The graph keeps the `M` it was built with, whatever `params` say.
    pub fn load(dir: &Path, model_id: &str, params: IndexParams) -> Result<Option<Loaded>> {
        let Some((generation, folder)) = current_generation(dir)? else {
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
        let mut index = VectorIndex::from_parts(
            manifest.model_id.clone(),
            params,
            slab,
            graph,
            Journal::default(),
        );
        let (log_len, watermark) =
            log::replay(&folder.join(LOG), &mut index)?.unwrap_or((0, manifest.watermark.clone()));
        index.prepare_search();
        index.journal_mut().saved = Some(SavedAt {
            dir: dir.to_path_buf(),
            generation,
            log_len,
            snapshot_len: snapshot_len(&manifest, bytes.len()),
        });
        Ok(Some(Loaded { index, watermark }))
    }
}

fn snapshot_len(manifest: &Manifest, manifest_bytes: usize) -> u64 {
    manifest.files.iter().map(|f| f.size).sum::<u64>() + manifest_bytes as u64
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
