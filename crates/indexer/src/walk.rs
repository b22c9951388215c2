//! Walking a library root: the regular files under it, and the folders that could not be read.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use globset::{Glob, GlobSet, GlobSetBuilder};
use shoebox_core::{FileStamp, RootId, ScanProblem};
use walkdir::WalkDir;

use crate::{Error, Result};

/// A regular file found under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) root: RootId,
    /// `/`-separated path relative to the root.
    pub(crate) rel_path: String,
    pub(crate) abs_path: PathBuf,
    pub(crate) stamp: FileStamp,
}

/// What walking one root found.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub(crate) files: Vec<Found>,
    pub(crate) problems: Vec<ScanProblem>,
    /// Relative paths (folders, or `""` for the whole root) that could not be read: records
    /// under them are kept as they are, not marked gone.
    pub(crate) unreadable: Vec<String>,
}

impl Walk {
    /// Whether a record at `rel_path` lies under something that could not be read.
    pub(crate) fn is_unreadable(&self, rel_path: &str) -> bool {
        self.unreadable.iter().any(|p| {
            p.is_empty()
                || rel_path == p
                || rel_path
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    }
}

/// Skips hidden entries and the configured ignore globs.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    ignore: GlobSet,
}

impl Filter {
    pub(crate) fn new(patterns: &[String]) -> Result<Self> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let glob = Glob::new(pattern).map_err(|e| Error::Glob {
                pattern: pattern.clone(),
                reason: e.to_string(),
            })?;
            builder.add(glob);
        }
        let ignore = builder.build().map_err(|e| Error::Glob {
            pattern: patterns.join(", "),
            reason: e.to_string(),
        })?;
        Ok(Self { ignore })
    }

    fn skips(&self, name: &str, rel_path: &str) -> bool {
        name.starts_with('.') || self.ignore.is_match(name) || self.ignore.is_match(rel_path)
    }

    /// Whether the folder at `rel_path` (`/`-separated, `""` for the root) or one above it is
    /// skipped.
    fn skips_folder(&self, rel_path: &str) -> bool {
        let mut above = String::new();
        rel_path.split('/').filter(|p| !p.is_empty()).any(|name| {
            if !above.is_empty() {
                above.push('/');
            }
            above.push_str(name);
            self.skips(name, &above)
        })
    }
}

/// Walks the folder `under` of `root` (`""` for the whole root; paths stay relative to the
/// root), following symbolic links when asked (loops are reported, not followed). A folder
/// that no longer exists walks as empty: every record under it is gone.
pub(crate) fn walk(
    root: RootId,
    root_path: &Path,
    under: &str,
    filter: &Filter,
    follow_symlinks: bool,
) -> Walk {
    let mut walk = Walk::default();
    if let Err(e) = fs_err::metadata(root_path) {
        walk.problems.push(ScanProblem {
            rel_path: String::new(),
            reason: format!("library root is not reachable: {e}"),
        });
        walk.unreadable.push(String::new());
        return walk;
    }
    if filter.skips_folder(under) {
        return walk;
    }
    let start = root_path.join(under);
    if !under.is_empty()
        && fs_err::symlink_metadata(&start).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        return walk;
    }
    let entries = WalkDir::new(&start)
        .follow_links(follow_symlinks)
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0
                || match (
                    entry.file_name().to_str(),
                    relative(root_path, entry.path()),
                ) {
                    (Some(name), Some(rel)) => !filter.skips(name, &rel),
                    _ => true,
                }
        });
    for entry in entries {
        match entry {
            Ok(entry) if entry.file_type().is_file() => {
                let Some(rel_path) = relative(root_path, entry.path()) else {
                    walk.problems.push(ScanProblem {
                        rel_path: entry.path().to_string_lossy().into_owned(),
                        reason: "file name is not valid UTF-8; skipped".to_owned(),
                    });
                    continue;
                };
                match entry.metadata() {
                    Ok(meta) => walk.files.push(Found {
                        root,
                        rel_path,
                        abs_path: entry.into_path(),
                        stamp: stamp(&meta),
                    }),
                    Err(e) => {
                        walk.problems.push(ScanProblem {
                            rel_path: rel_path.clone(),
                            reason: format!("cannot read file metadata: {e}"),
                        });
                        walk.unreadable.push(rel_path);
                    }
                }
            }
            // Folders are descended into; sockets, FIFOs and devices are not photos.
            Ok(_) => {}
            Err(e) => walk_error(root_path, &e, &mut walk),
        }
    }
    walk
}

fn walk_error(root_path: &Path, e: &walkdir::Error, walk: &mut Walk) {
    let rel_path = e
        .path()
        .and_then(|p| relative(root_path, p))
        .unwrap_or_default();
    if let Some(ancestor) = e.loop_ancestor() {
        walk.problems.push(ScanProblem {
            rel_path,
            reason: format!(
                "symbolic link loop back to {}; not followed",
                relative(root_path, ancestor)
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| ".".to_owned())
            ),
        });
        return;
    }
    let io = e.io_error();
    if io.is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) {
        // A dangling symbolic link (or a file deleted mid-walk): nothing is there.
        walk.problems.push(ScanProblem {
            rel_path,
            reason: "broken symbolic link (its target does not exist)".to_owned(),
        });
        return;
    }
    let reason = io.map_or_else(|| e.to_string(), ToString::to_string);
    walk.problems.push(ScanProblem {
        rel_path: rel_path.clone(),
        reason: format!("cannot read folder: {reason}"),
    });
    walk.unreadable.push(rel_path);
}

/// `path` relative to `root`, `/`-separated; `None` when not UTF-8.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Size and time of a file. The time is the later of its content's (mtime) and, on Unix, its
/// inode's change (ctime): a file renamed over another keeps its own mtime, which may equal the
/// replaced file's (both written within one clock tick), but its ctime moves on, so the
/// replacement is seen.
fn stamp(meta: &std::fs::Metadata) -> FileStamp {
    let mtime_ns = meta
        .modified()
        .ok()
        .map_or(0, |t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_nanos()).unwrap_or(i64::MAX),
        });
    #[cfg(unix)]
    let mtime_ns = {
        use std::os::unix::fs::MetadataExt;
        let ctime_ns = meta
            .ctime()
            .saturating_mul(1_000_000_000)
            .saturating_add(meta.ctime_nsec());
        mtime_ns.max(ctime_ns)
    };
    FileStamp {
        size: meta.len(),
        mtime_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file renamed over another of the same size and modification time has a new stamp
    /// (its inode's change time moved on), so the scan reads it again.
    #[cfg(unix)]
    #[test]
    fn a_file_renamed_over_a_twin_is_seen_as_changed()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("shoebox-stamp-{}", std::process::id()));
        fs_err::create_dir_all(&dir)?;
        let (a, b) = (dir.join("a.jpg"), dir.join("b.jpg"));
        let old = UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        for (path, byte) in [(&a, b'a'), (&b, b'b')] {
            fs_err::write(path, [byte; 64])?;
            fs_err::File::options()
                .write(true)
                .open(path)?
                .file()
                .set_modified(old)?;
        }
        let before = stamp(&fs_err::metadata(&b)?);
        assert_eq!(stamp(&fs_err::metadata(&a)?).size, before.size);
        // Wait for the file system's clock to move past b's change time (polled, not slept).
        let probe = dir.join("probe");
        while {
            fs_err::write(&probe, b"tick")?;
            stamp(&fs_err::metadata(&probe)?).mtime_ns <= before.mtime_ns
        } {}
        fs_err::rename(&a, &b)?;
        let after = stamp(&fs_err::metadata(&b)?);
        fs_err::remove_dir_all(&dir)?;
        assert_ne!(after, before, "same size, same mtime, other content");
        Ok(())
    }

    #[test]
    fn unreadable_prefixes_match_whole_components() {
        let walk = Walk {
            unreadable: vec!["a/b".to_owned()],
            ..Walk::default()
        };
        assert!(walk.is_unreadable("a/b"));
        assert!(walk.is_unreadable("a/b/c.jpg"));
        assert!(!walk.is_unreadable("a/bc.jpg"));
        assert!(!walk.is_unreadable("x.jpg"));
        let root = Walk {
            unreadable: vec![String::new()],
            ..Walk::default()
        };
        assert!(root.is_unreadable("anything.jpg"));
    }

    #[test]
    fn filter_skips_hidden_and_ignored() -> Result<()> {
        let filter = Filter::new(&["@eaDir".to_owned(), "*.tmp".to_owned(), "raw/**".to_owned()])?;
        assert!(filter.skips(".hidden.jpg", ".hidden.jpg"));
        assert!(filter.skips("@eaDir", "x/@eaDir"));
        assert!(filter.skips("a.tmp", "x/a.tmp"));
        assert!(filter.skips("b.jpg", "raw/b.jpg"));
        assert!(!filter.skips("b.jpg", "x/b.jpg"));
        Ok(())
    }

    #[test]
    fn a_folder_walks_alone_and_skipped_or_missing_folders_walk_empty()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("shoebox-under-{}", std::process::id()));
        for rel in ["a/1.jpg", "a/b/2.jpg", "c/3.jpg", ".hidden/4.jpg"] {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent)?;
            }
            fs_err::write(path, b"x")?;
        }
        let filter = Filter::new(&[])?;
        let paths = |under: &str| -> Vec<String> {
            let mut found: Vec<String> = walk(RootId(1), &dir, under, &filter, false)
                .files
                .into_iter()
                .map(|f| f.rel_path)
                .collect();
            found.sort();
            found
        };
        assert_eq!(paths(""), ["a/1.jpg", "a/b/2.jpg", "c/3.jpg"]);
        assert_eq!(paths("a"), ["a/1.jpg", "a/b/2.jpg"], "relative to the root");
        assert_eq!(paths("a/b"), ["a/b/2.jpg"]);
        assert!(paths(".hidden").is_empty(), "a hidden folder stays hidden");
        let gone = walk(RootId(1), &dir, "d", &filter, false);
        assert!(gone.files.is_empty() && gone.unreadable.is_empty() && gone.problems.is_empty());
        fs_err::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn bad_glob_is_a_clear_error() {
        let err = Filter::new(&["a[".to_owned()]).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("a[")));
    }
}
