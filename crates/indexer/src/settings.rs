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
