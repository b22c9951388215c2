//! The indexer's settings, read from the `[indexer]` and `[thumbnails]` config sections.

use serde::{Deserialize, Serialize};

/// How the scanner walks and reads files. Defaults live in `config/default.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexerSettings {
    /// Glob patterns for files and folders to skip, matched against the name and the path
    /// relative to the root. Hidden files and folders (name starting with `.`) are always skipped.
    pub ignore: Vec<String>,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_symlinks: bool,
    /// Refuse images with more pixels than this before decoding them (decompression bombs).
    pub max_image_pixels: u64,
    /// Refuse files larger than this many bytes.
    pub max_file_bytes: u64,
    /// Photos read in parallel and written to the store in one transaction.
    pub batch_size: usize,
    /// Decoding threads; 0 uses every core.
    pub threads: usize,
    /// Read files that failed before again even when they did not change.
    pub retry_failed: bool,
}

/// Thumbnail sizes and quality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThumbnailSettings {
    /// Longest side of each thumbnail size, in pixels.
    pub sizes: Vec<u32>,
    /// JPEG quality, 1–100.
    pub quality: u8,
}

/// How the library roots are watched for changes: the `[watch]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSettings {
    /// `auto`: the system's notifications (inotify), polling for network mounts and when the
    /// system runs out of watches; `native`: notifications only; `poll`: polling only.
    pub mode: WatchMode,
    /// Quiet time after a change before it is acted on (changes in between are merged).
    pub debounce_ms: u64,
    /// Seconds between two polls of a polled root.
    pub poll_seconds: u64,
    /// Minutes between two full reconciliation scans (besides the one at start-up); 0 for
    /// none.
    pub rescan_minutes: u64,
    /// Read and ignored, so that settings files written before the job queue's priorities
    /// (which put a model swap's re-embedding behind new photos) still load: it said how many
    /// photos a swap embedded per pass.
    #[serde(default, skip_serializing)]
    pub swap_slice: Option<usize>,
}

/// See [`WatchSettings::mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchMode {
    /// Notifications, with polling where they cannot work.
    Auto,
    /// Notifications only.
    Native,
    /// Polling only.
    Poll,
}
