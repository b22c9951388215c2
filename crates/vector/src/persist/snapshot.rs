//! The files of a snapshot: the slab (photo ids, live flags, vectors) and the graph (levels,
//! then neighbour lists), little-endian, each written through a BLAKE3 hasher for the
//! manifest.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use shoebox_core::PhotoId;

use crate::graph::FlatGraph;
use crate::slab::Slab;
use crate::{Error, Result};

/// A file's name, size and BLAKE3, as the manifest lists them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct FileSum {
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) blake3: String,
}

/// Writes a file through a hasher; [`Self::finish`] fsyncs it and gives its checksum.
struct HashingWriter<'a> {
    path: &'a Path,
    out: BufWriter<fs_err::File>,
    hasher: blake3::Hasher,
    size: u64,
}

impl<'a> HashingWriter<'a> {
    fn create(path: &'a Path) -> Result<Self> {
        let file = fs_err::File::create(path).map_err(Error::io(path))?;
        Ok(Self {
            path,
            out: BufWriter::new(file),
            hasher: blake3::Hasher::new(),
            size: 0,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        self.out.write_all(bytes).map_err(Error::io(self.path))
    }

    fn finish(self) -> Result<FileSum> {
        let io = Error::io(self.path);
        let file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(Error::io(self.path))?;
        Ok(FileSum {
            name: self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: self.size,
            blake3: self.hasher.finalize().to_hex().to_string(),
        })
    }
}

pub(super) fn write_slab(path: &Path, slab: &Slab) -> Result<FileSum> {
    let mut w = HashingWriter::create(path)?;
    for photos in slab.photos().chunks(4096) {
        let bytes: Vec<u8> = photos.iter().flat_map(|p| p.0.to_le_bytes()).collect();
        w.write(&bytes)?;
    }
    let live: Vec<u8> = (0..slab.slots())
        .map(|s| u8::from(slab.is_live(s)))
        .collect();
    w.write(&live)?;
    for chunk in slab.data().chunks(4096) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        w.write(&bytes)?;
    }
    w.finish()
}

pub(super) fn read_slab(path: &Path, dim: usize, slots: usize) -> Result<Slab> {
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

/// Appends the neighbour lists of `slot` on its layers `0..=level`: per layer a count (u32)
/// and that many slots (u32).
pub(super) fn encode_rows(graph: &FlatGraph, slot: u32, out: &mut Vec<u8>) {
    let mut ids = Vec::new();
    for layer in 0..=graph.level(slot) {
        ids.clear();
        ids.extend(graph.neighbours(slot, layer));
        out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
        out.extend(ids.iter().flat_map(|id| id.to_le_bytes()));
    }
}

/// Reads what [`encode_rows`] wrote for a node at `level` into its rows in `graph`; false
/// when a row does not fit the graph (too long, or naming a slot it does not hold).
pub(super) fn decode_rows(
    graph: &FlatGraph,
    slot: u32,
    level: u8,
    r: &mut impl Read,
) -> std::io::Result<bool> {
    if (slot as usize) >= graph.len() || graph.level(slot) != level {
        return Ok(false);
    }
    let mut ids = Vec::new();
    for layer in 0..=level {
        let count = read_u32(r)? as usize;
        if count > graph.capacity(layer) {
            return Ok(false);
        }
        ids.clear();
        for _ in 0..count {
            ids.push(read_u32(r)?);
        }
        if !graph.fits(layer, &ids) {
            return Ok(false);
        }
        graph.set_neighbours(slot, layer, &ids);
    }
    Ok(true)
}

pub(super) fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

pub(super) fn write_graph(path: &Path, graph: &FlatGraph) -> Result<FileSum> {
    let mut w = HashingWriter::create(path)?;
    let slots = graph.len() as u32;
    let levels: Vec<u8> = (0..slots).map(|s| graph.level(s)).collect();
    w.write(&levels)?;
    let mut buf = Vec::with_capacity(1 << 16);
    for slot in 0..slots {
        encode_rows(graph, slot, &mut buf);
        if buf.len() >= 1 << 15 {
            w.write(&buf)?;
            buf.clear();
        }
    }
    w.write(&buf)?;
    w.finish()
}

/// The graph [`write_graph`] wrote, with `m`, `slots` nodes and this entry point.
pub(super) fn read_graph(
    path: &Path,
    m: usize,
    slots: usize,
    entry: Option<(u32, u8)>,
) -> Result<FlatGraph> {
    let file = fs_err::File::open(path).map_err(Error::io(path))?;
    let mut r = BufReader::new(file);
    let io = |e| Error::io(path)(e);
    let mut levels = vec![0u8; slots];
    r.read_exact(&mut levels).map_err(io)?;
    let graph = FlatGraph::with_levels(m, &levels)
        .ok_or_else(|| Error::corrupt(path, "graph levels out of range"))?;
    drop(levels);
    for slot in 0..graph.len() as u32 {
        if !decode_rows(&graph, slot, graph.level(slot), &mut r).map_err(io)? {
            return Err(Error::corrupt(
                path,
                format!("bad neighbours for slot {slot}"),
            ));
        }
    }
    if !graph.set_entry_checked(entry) {
        return Err(Error::corrupt(path, "bad entry point"));
    }
    graph.clear_changed();
    Ok(graph)
}

/// Size and BLAKE3 of a file.
pub(super) fn sum_file(path: &Path) -> Result<FileSum> {
    let io = |e| Error::io(path)(e);
    let mut file = fs_err::File::open(path).map_err(io)?;
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
