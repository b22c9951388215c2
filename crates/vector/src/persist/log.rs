//! The log beside a snapshot: the changes later saves appended, replayed on load.
//!
//! A save appends its inserts (photo and vector), removals (photo), the graph nodes whose
//! neighbours changed (slot, level, neighbour lists), then a commit record (slot count, entry
//! point, watermark), and fsyncs. Each record is framed as
//! `length (u32) | kind (u8) | payload | first 8 bytes of BLAKE3(length, kind, payload)`, all
//! little-endian, `length` counting the kind and payload. Loading applies the records up to
//! the last commit that every record before it checks out to; what follows — a save cut short
//! by a crash, a torn or garbled write — is ignored, so the index comes back as of the last
//! save that returned.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use shoebox_core::PhotoId;

use super::snapshot::{decode_rows, encode_rows, read_u32};
use crate::VectorIndex;
use crate::journal::Change;
use crate::{Error, Result};

const INSERT: u8 = 1;
const REMOVE: u8 = 2;
const NODE: u8 = 3;
const COMMIT: u8 = 4;
/// Length, kind and checksum around each payload.
const FRAME: u64 = 4 + 1 + 8;
/// A length above this is a torn or garbled header, not a record.
const MAX_RECORD: usize = 64 << 20;

/// At most the bytes [`append`] writes for `changes` and the graph's changed nodes.
pub(super) fn estimate(index: &VectorIndex, changes: &[Change]) -> u64 {
    let graph = index.graph();
    let slab: u64 = changes
        .iter()
        .map(|change| match change {
            Change::Insert(_) => FRAME + 8 + 4 * index.dim() as u64,
            Change::Remove(_) => FRAME + 8,
        })
        .sum();
    let nodes: u64 = graph
        .changed()
        .into_iter()
        .map(|slot| {
            let rows: u64 = (0..=graph.level(slot))
                .map(|layer| 4 + 4 * graph.capacity(layer) as u64)
                .sum();
            FRAME + 5 + rows
        })
        .sum();
    slab + nodes + FRAME + 14 + 4096
}

/// Appends `changes`, the graph's changed nodes and a commit with `watermark` to the log at
/// `path` (created when missing), fsyncs it, and returns the bytes written.
pub(super) fn append(
    path: &Path,
    index: &VectorIndex,
    changes: &[Change],
    watermark: &str,
) -> Result<u64> {
    let io = |e| Error::io(path)(e);
    let file = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    let mut out = BufWriter::new(file);
    let mut written = 0;
    let mut payload = Vec::new();
    let slab = index.slab();
    for change in changes {
        payload.clear();
        let kind = match *change {
            Change::Insert(slot) => {
                payload.extend_from_slice(&slab.photo(slot).0.to_le_bytes());
                payload.extend(slab.vector(slot).iter().flat_map(|v| v.to_le_bytes()));
                INSERT
            }
            Change::Remove(photo) => {
                payload.extend_from_slice(&photo.0.to_le_bytes());
                REMOVE
            }
        };
        written += frame(&mut out, kind, &payload).map_err(io)?;
    }
    let graph = index.graph();
    for slot in graph.changed() {
        payload.clear();
        payload.extend_from_slice(&slot.to_le_bytes());
        payload.push(graph.level(slot));
        encode_rows(graph, slot, &mut payload);
        written += frame(&mut out, NODE, &payload).map_err(io)?;
    }
    payload.clear();
    payload.extend_from_slice(&(slab.slots() as u64).to_le_bytes());
    let (entry, level) = graph.entry().unwrap_or((u32::MAX, u8::MAX));
    payload.extend_from_slice(&entry.to_le_bytes());
    payload.push(level);
    payload.extend_from_slice(watermark.as_bytes());
    written += frame(&mut out, COMMIT, &payload).map_err(io)?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_data().map_err(io)?;
    Ok(written)
}

fn frame(out: &mut impl Write, kind: u8, payload: &[u8]) -> std::io::Result<u64> {
    let len = u32::try_from(payload.len() + 1)
        .ok()
        .filter(|&len| len as usize <= MAX_RECORD)
        .ok_or_else(|| std::io::Error::other("log record too large"))?;
    let len = len.to_le_bytes();
    let check = checksum(&len, kind, payload);
    out.write_all(&len)?;
    out.write_all(&[kind])?;
    out.write_all(payload)?;
    out.write_all(&check)?;
    Ok(FRAME + payload.len() as u64)
}

fn checksum(len: &[u8; 4], kind: u8, payload: &[u8]) -> [u8; 8] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(len);
    hasher.update(&[kind]);
    hasher.update(payload);
    let mut out = [0u8; 8];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out
}

/// The next whole, checked record: `None` at the end of the log or at a torn or garbled one.
fn next_record(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let eof_is_none = |res: std::io::Result<()>| match res {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    };
    let mut len = [0u8; 4];
    if !eof_is_none(r.read_exact(&mut len))? {
        return Ok(None);
    }
    let n = u32::from_le_bytes(len) as usize;
    if n == 0 || n > MAX_RECORD {
        return Ok(None);
    }
    let mut body = vec![0u8; n];
    let mut check = [0u8; 8];
    if !eof_is_none(r.read_exact(&mut body))? || !eof_is_none(r.read_exact(&mut check))? {
        return Ok(None);
    }
    if checksum(&len, body[0], &body[1..]) != check {
        return Ok(None);
    }
    let kind = body.remove(0);
    Ok(Some((kind, body)))
}

/// Replays the log at `path` onto `index` (just loaded from the snapshot): the length of the
/// log's valid part and the last commit's watermark, or `None` when the log has no commit.
pub(super) fn replay(path: &Path, index: &mut VectorIndex) -> Result<Option<(u64, String)>> {
    let io = |e| Error::io(path)(e);
    let open = || match fs_err::File::open(path) {
        Ok(file) => Ok(Some(BufReader::new(file))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    };
    // First pass: how far the committed records reach.
    let Some(mut r) = open()? else {
        return Ok(None);
    };
    let (mut pos, mut committed) = (0u64, 0u64);
    while let Some((kind, payload)) = next_record(&mut r).map_err(io)? {
        pos += FRAME + payload.len() as u64;
        if kind == COMMIT {
            committed = pos;
        }
    }
    if committed == 0 {
        return Ok(None);
    }
    // Second pass: apply them.
    let Some(mut r) = open()? else {
        return Ok(None);
    };
    let (mut pos, mut watermark) = (0u64, String::new());
    while pos < committed {
        let Some((kind, payload)) = next_record(&mut r).map_err(io)? else {
            return Err(Error::corrupt(path, "log changed while it was read"));
        };
        pos += FRAME + payload.len() as u64;
        let applied = apply(index, kind, &payload, &mut watermark);
        if !applied.map_err(io)? {
            return Err(Error::corrupt(
                path,
                format!("record of kind {kind} ending at byte {pos} does not fit the index"),
            ));
        }
    }
    Ok(Some((committed, watermark)))
}

/// Applies one checked record; false when it does not fit the index.
fn apply(
    index: &mut VectorIndex,
    kind: u8,
    payload: &[u8],
    watermark: &mut String,
) -> std::io::Result<bool> {
    let dim = index.dim();
    let mut r = payload;
    let photo = |r: &mut &[u8]| -> std::io::Result<PhotoId> {
        let mut b = [0u8; 8];
        r.read_exact(&mut b)?;
        Ok(PhotoId(i64::from_le_bytes(b)))
    };
    match kind {
        INSERT if payload.len() == 8 + 4 * dim => {
            let photo = photo(&mut r)?;
            let vector: Vec<f32> = r
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap_or_default()))
                .collect();
            index.slab_mut().push(photo, &vector);
        }
        REMOVE if payload.len() == 8 => {
            let photo = photo(&mut r)?;
            index.slab_mut().remove(photo);
        }
        NODE => {
            let slots = index.slab().slots();
            index.graph_mut().grow(slots);
            let slot = read_u32(&mut r)?;
            let mut level = [0u8];
            r.read_exact(&mut level)?;
            if !decode_rows(index.graph(), slot, level[0], &mut r)? || !r.is_empty() {
                return Ok(false);
            }
        }
        COMMIT if payload.len() >= 13 => {
            let mut slots = [0u8; 8];
            r.read_exact(&mut slots)?;
            let slots = u64::from_le_bytes(slots);
            let entry = read_u32(&mut r)?;
            let mut level = [0u8];
            r.read_exact(&mut level)?;
            let entry = (entry != u32::MAX).then_some((entry, level[0]));
            if slots != index.slab().slots() as u64 {
                return Ok(false);
            }
            let slots = index.slab().slots();
            let graph = index.graph_mut();
            graph.grow(slots);
            graph.clear_changed();
            if !graph.set_entry_checked(entry) {
                return Ok(false);
            }
            *watermark = String::from_utf8_lossy(r).into_owned();
        }
        _ => return Ok(false),
    }
    Ok(true)
}
