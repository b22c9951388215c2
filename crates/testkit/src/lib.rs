//! Test fixtures for Shoebox: generated photos (JPEG, PNG), EXIF written into copies of real
//! photos, bad files of every kind, the shared fixture photos, a fake model hub, CLIP-like
//! vectors, photo records for synthetic libraries, and a database held locked as another
//! program would. Used by tests and benches only; never by a product path.

mod exif;
mod hub;
mod images;
mod lock;
mod records;
mod vectors;

use std::path::{Path, PathBuf};

pub use exif::{ExifSpec, with_exif};
pub use hub::FakeHub;
pub use images::{jpeg, oriented, png, textured, with_comment};
pub use lock::DatabaseLock;
pub use records::indexed_record;
pub use vectors::{ClipLike, normalised};

/// Result for fixture helpers.
pub type Result<T> = anyhow::Result<T>;

/// The shared folder of small real photos (`../shared/fixtures/photos` from the repository).
pub fn fixture_photos() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/photos")
}

/// One of the shared fixture photos by file name, e.g. `"cat.jpg"`.
pub fn fixture(name: &str) -> Result<Vec<u8>> {
    Ok(fs_err::read(fixture_photos().join(name))?)
}

/// Copies the folder `from` with its sub-folders into a new folder `to` (links followed: a
/// fixture that links a shared file gets a copy of it).
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs_err::create_dir_all(to)?;
    for entry in fs_err::read_dir(from)? {
        let entry = entry?;
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()))?;
        } else {
            fs_err::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `root/rel`, creating folders.
pub fn put(root: &Path, rel: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir)?;
    }
    fs_err::write(&path, bytes)?;
    Ok(path)
}

/// The process's resident set now (`"VmRSS:"`) or at its peak (`"VmHWM:"`), in MiB, from
/// `/proc/self/status`; NaN where that cannot be read. For benches' memory columns.
pub fn rss_mib(field: &str) -> f64 {
    status_mib("/proc/self/status", field)
}

/// The same for another process (a server a bench started).
pub fn process_rss_mib(pid: u32, field: &str) -> f64 {
    status_mib(&format!("/proc/{pid}/status"), field)
}

fn status_mib(status: &str, field: &str) -> f64 {
    fs_err::read_to_string(status)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
