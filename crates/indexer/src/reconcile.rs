//! Reconciling what is on disk with what the store knows: which files are unchanged, which
//! moved, which are new or changed (to be read fully) and which records are gone.
//!
//! Pure logic, no I/O: the scanner walks and probes, this decides.

use std::collections::{HashMap, HashSet};

use shoebox_core::{ContentHash, KnownPhoto, PhotoId, PhotoStatus, PhotoWrite, RootId};

use crate::probe::Probe;
use crate::sniff::has_image_extension;
use crate::walk::Found;

/// A file that must be read fully, and the record it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Work {
    pub(crate) file: Found,
    /// The record to replace, or `None` for a new record.
    pub(crate) replace: Option<PhotoId>,
}

/// The decisions of one scan before any file is read fully.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Touches, moves and gone marks: one transaction.
    pub(crate) writes: Vec<PhotoWrite>,
    pub(crate) work: Vec<Work>,
    pub(crate) unchanged: u64,
    pub(crate) moved: u64,
    pub(crate) removed: u64,
    /// Files that are not images and do not claim to be.
    pub(crate) skipped: u64,
}

type PathKey = (RootId, String);

/// The store's records for the roots being scanned.
#[derive(Debug)]
pub(crate) struct Reconciler {
    live: HashMap<PathKey, KnownPhoto>,
    gone: Vec<KnownPhoto>,
    retry_failed: bool,
}

/// Files whose stamp changed or that are new, split from those that did not change.
#[derive(Debug)]
pub(crate) struct Split {
    pub(crate) unchanged: Vec<PhotoWrite>,
    pub(crate) candidates: Vec<Found>,
    /// Records whose path was not found on disk.
    pub(crate) missing: Vec<KnownPhoto>,
    /// Whether candidates need a content hash before planning: only when a known record
    /// could match them.
    pub(crate) needs_hashes: bool,
}

impl Reconciler {
    pub(crate) fn new(known: Vec<KnownPhoto>, retry_failed: bool) -> Self {
        let (gone, live): (Vec<_>, Vec<_>) = known
            .into_iter()
            .partition(|k| k.status == PhotoStatus::Gone);
        let live = live
            .into_iter()
            .map(|k| ((k.root, k.rel_path.clone()), k))
            .collect();
        Self {
            live,
            gone,
            retry_failed,
        }
    }

    /// Splits the walked files; `keep` says which missing records lie under unreadable
    /// folders and must be left alone.
    pub(crate) fn split(&self, files: Vec<Found>, keep: impl Fn(&KnownPhoto) -> bool) -> Split {
        let mut seen = HashSet::with_capacity(files.len());
        let mut unchanged = Vec::new();
        let mut candidates = Vec::new();
        for file in files {
            let key = (file.root, file.rel_path.clone());
            match self.live.get(&key) {
                Some(k)
                    if k.stamp == file.stamp
                        && (k.status == PhotoStatus::Ok || !self.retry_failed) =>
                {
                    unchanged.push(PhotoWrite::Touch {
                        id: k.id,
                        stamp: file.stamp,
                    });
                }
                _ => candidates.push(file),
            }
            seen.insert(key);
        }
        let missing: Vec<KnownPhoto> = self
            .live
            .iter()
            .filter(|(key, k)| !seen.contains(*key) && !keep(k))
            .map(|(_, k)| k.clone())
            .collect();
        let needs_hashes = !missing.is_empty()
            || !self.gone.is_empty()
            || candidates
                .iter()
                .any(|c| self.live.contains_key(&(c.root, c.rel_path.clone())));
        Split {
            unchanged,
            candidates,
            missing,
            needs_hashes,
        }
    }

    /// Decides what happens to every candidate and every missing record.
    pub(crate) fn plan(&self, split: Split, probes: Vec<Probe>) -> Plan {
        let mut plan = Plan {
            unchanged: split.unchanged.len() as u64,
            writes: split.unchanged,
            ..Plan::default()
        };
        let mut candidates: Vec<(Found, Probe)> =
            split.candidates.into_iter().zip(probes).collect();
        candidates.sort_by(|(a, _), (b, _)| (a.root, &a.rel_path).cmp(&(b.root, &b.rel_path)));

        // Same content at the same path: only the stamp changed.
        let mut displaced = Vec::new();
        candidates.retain(|(file, probe)| {
            let Some(k) = self.live.get(&(file.root, file.rel_path.clone())) else {
                return true;
            };
            if k.status == PhotoStatus::Ok && probe.hash.is_some() && k.hash == probe.hash {
                plan.writes.push(PhotoWrite::Touch {
                    id: k.id,
                    stamp: file.stamp,
                });
                plan.unchanged += 1;
                return false;
            }
            displaced.push(k.clone());
            true
        });

        // Content whose record lost its path can move: missing first, then records whose
        // path now holds other content, then long-gone records; oldest id first.
        let mut sources: HashMap<ContentHash, Vec<PhotoId>> = HashMap::new();
        let mut by_priority: Vec<&KnownPhoto> = Vec::new();
        for group in [&split.missing, &displaced, &self.gone] {
            let mut group: Vec<&KnownPhoto> = group.iter().filter(|k| k.indexed).collect();
            group.sort_by_key(|k| k.id);
            by_priority.extend(group);
        }
        for k in by_priority.iter().rev() {
            if let Some(hash) = k.hash {
                sources.entry(hash).or_default().push(k.id);
            }
        }

        let mut claimed = HashSet::new();
        let mut taken_by_move = HashSet::new();
        let mut rest = Vec::new();
        for (file, probe) in candidates {
            let source = probe
                .format
                .and(probe.hash)
                .and_then(|h| sources.get_mut(&h))
                .and_then(Vec::pop);
            match source {
                Some(id) => {
                    claimed.insert(id);
                    taken_by_move.insert((file.root, file.rel_path.clone()));
                    plan.writes.push(PhotoWrite::Move {
                        id,
                        root: file.root,
                        rel_path: file.rel_path,
                        stamp: file.stamp,
                    });
                    plan.moved += 1;
                }
                None => rest.push((file, probe)),
            }
        }

        for (file, probe) in rest {
            let record = self
                .live
                .get(&(file.root, file.rel_path.clone()))
                .map(|k| k.id)
                .filter(|id| !claimed.contains(id));
            if record.is_none() && probe.format.is_none() && !has_image_extension(&file.abs_path) {
                plan.skipped += 1;
                continue;
            }
            plan.work.push(Work {
                file,
                replace: record,
            });
        }

        let gone = split
            .missing
            .iter()
            .chain(
                displaced
                    .iter()
                    .filter(|k| taken_by_move.contains(&(k.root, k.rel_path.clone()))),
            )
            .filter(|k| !claimed.contains(&k.id));
        for k in gone {
            plan.writes.push(PhotoWrite::MarkGone { id: k.id });
            plan.removed += 1;
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use shoebox_core::{FileStamp, ImageFormat};

    use super::*;

    const ROOT: RootId = RootId(1);

    fn stamp(n: i64) -> FileStamp {
        FileStamp {
            size: 10,
            mtime_ns: n,
        }
    }

    fn known(id: i64, path: &str, hash: u8, status: PhotoStatus) -> KnownPhoto {
        KnownPhoto {
            id: PhotoId(id),
            root: ROOT,
            rel_path: path.to_owned(),
            stamp: stamp(0),
            hash: Some(ContentHash([hash; 32])),
            status,
            indexed: status != PhotoStatus::Failed,
        }
    }

    fn found(path: &str, mtime: i64) -> Found {
        Found {
            root: ROOT,
            rel_path: path.to_owned(),
            abs_path: PathBuf::from("/r").join(path),
            stamp: stamp(mtime),
        }
    }

    fn image(hash: u8) -> Probe {
        Probe {
            format: Some(ImageFormat::Jpeg),
            hash: Some(ContentHash([hash; 32])),
        }
    }

    fn run(known: Vec<KnownPhoto>, files: Vec<(Found, Probe)>) -> Plan {
        let r = Reconciler::new(known, false);
        let (files, probes): (Vec<Found>, Vec<Probe>) = files.into_iter().unzip();
        let split = r.split(files.clone(), |_| false);
        // Probes line up with candidates: keep those of files that are candidates.
        let probes = files
            .iter()
            .zip(probes)
            .filter(|(f, _)| split.candidates.contains(f))
            .map(|(_, p)| p)
            .collect();
        r.plan(split, probes)
    }

    #[test]
    fn unchanged_stamp_is_a_touch_without_reading() {
        let plan = run(
            vec![known(1, "a.jpg", 1, PhotoStatus::Ok)],
            vec![(found("a.jpg", 0), image(1))],
        );
        assert_eq!(plan.unchanged, 1);
        assert!(plan.work.is_empty());
        assert_eq!(
            plan.writes,
            vec![PhotoWrite::Touch {
                id: PhotoId(1),
                stamp: stamp(0)
            }]
        );
    }

    #[test]
    fn rename_keeps_the_id() {
        let plan = run(
            vec![known(1, "a.jpg", 1, PhotoStatus::Ok)],
            vec![(found("b.jpg", 5), image(1))],
        );
        assert_eq!(plan.moved, 1);
        assert_eq!(plan.removed, 0);
        assert!(plan.writes.contains(&PhotoWrite::Move {
            id: PhotoId(1),
            root: ROOT,
            rel_path: "b.jpg".to_owned(),
            stamp: stamp(5)
        }));
    }

    #[test]
    fn move_over_another_file_marks_the_overwritten_one_gone() {
        let plan = run(
            vec![
                known(1, "a.jpg", 1, PhotoStatus::Ok),
                known(2, "b.jpg", 2, PhotoStatus::Ok),
            ],
            vec![(found("b.jpg", 5), image(1))],
        );
        assert_eq!((plan.moved, plan.removed), (1, 1));
        assert!(
            plan.writes
                .contains(&PhotoWrite::MarkGone { id: PhotoId(2) })
        );
        assert!(plan.work.is_empty());
    }

    #[test]
    fn swapped_files_swap_paths() {
        let plan = run(
            vec![
                known(1, "a.jpg", 1, PhotoStatus::Ok),
                known(2, "b.jpg", 2, PhotoStatus::Ok),
            ],
            vec![(found("a.jpg", 5), image(2)), (found("b.jpg", 5), image(1))],
        );
        assert_eq!((plan.moved, plan.removed), (2, 0));
        assert!(plan.work.is_empty());
    }

    #[test]
    fn edited_file_is_replaced_in_place() {
        let plan = run(
            vec![known(1, "a.jpg", 1, PhotoStatus::Ok)],
            vec![(found("a.jpg", 5), image(9))],
        );
        assert_eq!(plan.work.len(), 1);
        assert_eq!(plan.work[0].replace, Some(PhotoId(1)));
        assert_eq!(plan.removed, 0);
    }

    #[test]
    fn touched_but_identical_content_is_unchanged() {
        let plan = run(
            vec![known(1, "a.jpg", 1, PhotoStatus::Ok)],
            vec![(found("a.jpg", 5), image(1))],
        );
        assert_eq!(plan.unchanged, 1);
        assert!(plan.work.is_empty());
    }

    #[test]
    fn deleted_then_restored_file_comes_back_with_its_id() {
        let plan = run(
            vec![known(7, "old/a.jpg", 1, PhotoStatus::Gone)],
            vec![(found("new/a.jpg", 5), image(1))],
        );
        assert_eq!(plan.moved, 1);
        assert!(matches!(
            plan.writes[0],
            PhotoWrite::Move { id: PhotoId(7), .. }
        ));
    }

    #[test]
    fn copies_of_one_photo_are_separate_records() {
        let plan = run(
            vec![known(1, "a.jpg", 1, PhotoStatus::Ok)],
            vec![
                (found("a.jpg", 0), image(1)),
                (found("copy.jpg", 0), image(1)),
            ],
        );
        assert_eq!((plan.unchanged, plan.moved), (1, 0));
        assert_eq!(plan.work.len(), 1);
        assert_eq!(plan.work[0].replace, None);
    }

    #[test]
    fn deleted_file_is_gone_unless_kept() {
        let plan = run(vec![known(1, "a.jpg", 1, PhotoStatus::Ok)], vec![]);
        assert_eq!(plan.writes, vec![PhotoWrite::MarkGone { id: PhotoId(1) }]);

        let r = Reconciler::new(vec![known(1, "a.jpg", 1, PhotoStatus::Ok)], false);
        let split = r.split(vec![], |_| true);
        assert!(split.missing.is_empty());
        assert!(r.plan(split, vec![]).writes.is_empty());
    }

    #[test]
    fn non_images_are_skipped_unless_they_claim_to_be_images() {
        let plan = run(
            vec![],
            vec![
                (found("notes.txt", 0), Probe::default()),
                (found("fake.jpg", 0), Probe::default()),
            ],
        );
        assert_eq!(plan.skipped, 1);
        assert_eq!(plan.work.len(), 1);
        assert_eq!(plan.work[0].file.rel_path, "fake.jpg");
    }

    #[test]
    fn hashes_are_needed_only_when_something_could_match() {
        let r = Reconciler::new(vec![], false);
        assert!(!r.split(vec![found("a.jpg", 0)], |_| false).needs_hashes);
        let r = Reconciler::new(vec![known(1, "a.jpg", 1, PhotoStatus::Ok)], false);
        assert!(r.split(vec![found("b.jpg", 0)], |_| false).needs_hashes);
    }
}
