//! Shoebox's library scanner: it finds every photo under the library roots, learns what it is
//! and reconciles the store with the disk.
//!
//! A scan walks each root ([`walk`](crate::walk)), compares the files with the stored records
//! by size and mtime, probes changed and new files (format by content, BLAKE3 hash when a move
//! is possible), decides moves, gone marks and work ([`reconcile`](crate::reconcile)), then
//! reads the work in parallel on a rayon pool — EXIF, dimensions, decoding, upright thumbnails
//! — and writes the records in batches, one transaction each. A file's problem never stops a
//! scan: it is stored with its reason.

mod decode;
mod error;
mod exif;
mod probe;
mod progress;
mod reconcile;
mod scan;
mod settings;
mod sniff;
mod thumbnail;
mod walk;
mod watch;

pub use decode::{decode_pixels, load_pixels};
pub use error::{Error, Result};
pub use progress::{ScanProgress, ScanSummary};
pub use scan::Scanner;
pub use settings::{IndexerSettings, ThumbnailSettings, WatchMode, WatchSettings};
pub use thumbnail::thumbnail_path;
pub use watch::{Change, Method, RootWatcher};
