//! Safetensors files read tensor by tensor as a model asks for them, so loading never holds
//! the whole file and the whole model at once (a 3B model in f32 is 12 GB); one file or the
//! shards of a `model.safetensors.index.json`.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::Init;
use candle_nn::var_builder::SimpleBackend;
use serde::Deserialize;

use crate::{Error, Result};

/// Where one tensor lies.
#[derive(Debug)]
struct Entry {
    file: usize,
    dtype: DType,
    shape: Vec<usize>,
    /// Byte offsets in the file, past the header.
    start: u64,
    end: u64,
}

/// One tensor of a safetensors header.
#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (u64, u64),
}

/// The tensors of one or more safetensors files, read on demand.
pub(crate) struct LazyTensors {
    files: Vec<(PathBuf, Mutex<fs_err::File>)>,
    entries: HashMap<String, Entry>,
}

impl LazyTensors {
    /// Reads the headers of `paths`; a name in two files is an error.
    pub(crate) fn open(paths: &[PathBuf]) -> Result<Self> {
        let mut files = Vec::with_capacity(paths.len());
        let mut entries = HashMap::new();
        for (index, path) in paths.iter().enumerate() {
            let invalid = |reason: String| Error::InvalidFile {
                path: path.clone(),
                reason,
            };
            let mut file = fs_err::File::open(path).map_err(|e| invalid(e.to_string()))?;
            let file_len = file.metadata().map_err(|e| invalid(e.to_string()))?.len();
            let mut len = [0u8; 8];
            file.read_exact(&mut len)
                .map_err(|e| invalid(format!("no safetensors header: {e}")))?;
            let header_len = u64::from_le_bytes(len);
            if header_len > 100 << 20 || 8 + header_len > file_len {
                return Err(invalid(format!("header of {header_len} bytes")));
            }
            let mut header = vec![0u8; usize::try_from(header_len).unwrap_or(0)];
            file.read_exact(&mut header)
                .map_err(|e| invalid(e.to_string()))?;
            let mut header: HashMap<String, serde_json::Value> =
                serde_json::from_slice(&header).map_err(|e| invalid(e.to_string()))?;
            header.remove("__metadata__");
            let data_start = 8 + header_len;
            for (name, value) in header {
                let entry: HeaderEntry =
                    serde_json::from_value(value).map_err(|e| invalid(format!("{name}: {e}")))?;
                let dtype = dtype(&entry.dtype)
                    .ok_or_else(|| invalid(format!("{name}: unsupported dtype {}", entry.dtype)))?;
                let (start, end) = entry.data_offsets;
                let elements: usize = entry.shape.iter().product();
                let expected = u64::try_from(elements * dtype.size_in_bytes()).unwrap_or(u64::MAX);
                if end < start || end - start != expected || data_start + end > file_len {
                    return Err(invalid(format!("{name}: bad data offsets {start}..{end}")));
                }
                let entry = Entry {
                    file: index,
                    dtype,
                    shape: entry.shape,
                    start: data_start + start,
                    end: data_start + end,
                };
                if entries.insert(name.clone(), entry).is_some() {
                    return Err(invalid(format!("{name} is in more than one file")));
                }
            }
            files.push((path.clone(), Mutex::new(file)));
        }
        Ok(Self { files, entries })
    }

    /// Every tensor name.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The shape of `name`, without reading it.
    pub(crate) fn shape(&self, name: &str) -> Option<&[usize]> {
        self.entries.get(name).map(|e| e.shape.as_slice())
    }

    /// Reads `name` from its file, on the CPU in its stored dtype.
    pub(crate) fn read(&self, name: &str) -> candle_core::Result<Tensor> {
        let Some(entry) = self.entries.get(name) else {
            candle_core::bail!("cannot find tensor {name}");
        };
        let (path, file) = &self.files[entry.file];
        let failed = |e: std::io::Error| {
            candle_core::Error::Msg(format!("{}: reading {name}: {e}", path.display()))
        };
        let mut bytes = vec![0u8; usize::try_from(entry.end - entry.start).unwrap_or(0)];
        {
            let mut file = file
                .lock()
                .map_err(|_| candle_core::Error::Msg(format!("{}: poisoned", path.display())))?;
            file.seek(SeekFrom::Start(entry.start)).map_err(failed)?;
            file.read_exact(&mut bytes).map_err(failed)?;
        }
        Tensor::from_raw_buffer(&bytes, entry.dtype, &entry.shape, &Device::Cpu)
    }
}

impl SimpleBackend for LazyTensors {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let tensor = self.get_unchecked(name, dtype, dev)?;
        if tensor.shape() != &s {
            candle_core::bail!(
                "shape mismatch for {name}, expected {s:?}, got {:?}",
                tensor.shape()
            );
        }
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.read(name)?.to_dtype(dtype)?.to_device(dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
}

/// The files of a checkpoint's weights in `dir`: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json`.
pub(crate) fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    if !index.is_file() {
        return Err(Error::MissingFile { path: single });
    }
    #[derive(Deserialize)]
    struct Index {
        weight_map: HashMap<String, String>,
    }
    let invalid = |reason: String| Error::InvalidFile {
        path: index.clone(),
        reason,
    };
    let text = fs_err::read_to_string(&index).map_err(|e| invalid(e.to_string()))?;
    let parsed: Index = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut shards: Vec<&String> = parsed.weight_map.values().collect();
    shards.sort();
    shards.dedup();
    shards
        .into_iter()
        .map(|shard| {
            // A shard is a file name beside the index, never a path elsewhere.
            if Path::new(shard).file_name() != Some(std::ffi::OsStr::new(shard)) {
                return Err(invalid(format!("shard {shard:?} is not a file name")));
            }
            let path = dir.join(shard);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Error::MissingFile { path })
            }
        })
        .collect()
}

/// candle's dtype for a safetensors dtype name.
fn dtype(name: &str) -> Option<DType> {
    Some(match name {
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F64" => DType::F64,
        "U8" => DType::U8,
        "U32" => DType::U32,
        "I64" => DType::I64,
        _ => return None,
    })
}
