//! Fetching a catalog model from the Hugging Face hub (hf-hub) at its pinned revision, and
//! checking installed files against their SHA-256.
//!
//! A file is installed only after its checksum matches: it is downloaded into the hub cache
//! under the models directory (`.hub/`, resumable), hashed, then moved into the model's
//! folder. A failed or corrupt download never replaces a good file, and files already
//! installed with the right checksum are not fetched again.

use std::io::Read;
use std::path::Path;

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Repo, RepoType};
use sha2::{Digest, Sha256};

use crate::catalog::{FileSpec, ModelSpec};
use crate::{Error, Result};

/// Where downloads come from.
#[derive(Debug, Clone)]
pub struct Hub {
    /// The hub's address, `https://huggingface.co` or a mirror.
    pub endpoint: String,
}

/// Told about each file's download, e.g. to draw a progress bar.
pub trait DownloadProgress {
    /// A download of `bytes` bytes of `file` starts (or resumes).
    fn start(&mut self, file: &str, bytes: u64);
    /// `bytes` more arrived.
    fn advance(&mut self, bytes: u64);
    /// The file is complete.
    fn finish(&mut self);
}

/// The state of one installed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Present with the expected checksum.
    Ok,
    /// Not there.
    Missing,
    /// There, with another checksum.
    Corrupt {
        /// What the file hashes to.
        actual: String,
    },
}

/// Checks every file of `model` in `dir` (its folder under the models directory).
pub fn verify(model: &ModelSpec, dir: &Path) -> Result<Vec<(String, FileState)>> {
    model
        .files
        .iter()
        .map(|file| Ok((file.name.clone(), file_state(file, &dir.join(&file.name))?)))
        .collect()
}

/// Downloads what is missing or corrupt of `model` into `dir`, checking every file.
/// Returns the names of the files fetched.
pub fn pull(
    model: &ModelSpec,
    dir: &Path,
    hub: &Hub,
    progress: &mut dyn DownloadProgress,
) -> Result<Vec<String>> {
    let models_dir = dir.parent().unwrap_or(dir);
    let cache = models_dir.join(".hub");
    fs_err::create_dir_all(dir)?;
    let api = ApiBuilder::new()
        .with_endpoint(hub.endpoint.trim_end_matches('/').to_owned())
        .with_cache_dir(cache.clone())
        .with_progress(false)
        .build()
        .map_err(|e| download_error(model, "", e))?;
    let repo = api.repo(Repo::with_revision(
        model.repo.clone(),
        RepoType::Model,
        model.revision.clone(),
    ));
    let mut fetched = Vec::new();
    for file in &model.files {
        let target = dir.join(&file.name);
        if file_state(file, &target)? == FileState::Ok {
            continue;
        }
        let cached = repo
            .download_with_progress(&file.name, Adapter(&mut *progress))
            .map_err(|e| download_error(model, &file.name, e))?;
        // The snapshot entry links to the blob; move the blob itself into place.
        let blob = fs_err::canonicalize(&cached)?;
        let actual = sha256(&blob)?;
        if actual != file.sha256 {
            fs_err::remove_file(&blob)?;
            return Err(Error::Checksum {
                model: model.name.clone(),
                file: file.name.clone(),
                expected: file.sha256.clone(),
                actual,
            });
        }
        fs_err::rename(&blob, &target)?;
        fetched.push(file.name.clone());
    }
    // Only links and bookkeeping are left in the cache: the blobs moved out.
    if cache.exists() {
        fs_err::remove_dir_all(&cache)?;
    }
    Ok(fetched)
}

fn file_state(file: &FileSpec, path: &Path) -> Result<FileState> {
    if !path.is_file() {
        return Ok(FileState::Missing);
    }
    let actual = sha256(path)?;
    Ok(if actual == file.sha256 {
        FileState::Ok
    } else {
        FileState::Corrupt { actual }
    })
}

/// Lower-case hex SHA-256 of a file's content.
fn sha256(path: &Path) -> Result<String> {
    let mut reader = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn download_error(model: &ModelSpec, file: &str, e: hf_hub::api::sync::ApiError) -> Error {
    Error::Download {
        model: model.name.clone(),
        file: file.to_owned(),
        reason: e.to_string(),
    }
}

/// hf-hub's progress callbacks, passed on.
struct Adapter<'a>(&'a mut dyn DownloadProgress);

impl hf_hub::api::Progress for Adapter<'_> {
    fn init(&mut self, size: usize, filename: &str) {
        self.0.start(filename, size as u64);
    }

    fn update(&mut self, size: usize) {
        self.0.advance(size as u64);
    }

    fn finish(&mut self) {
        self.0.finish();
    }
}
