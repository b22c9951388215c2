//! A cheap first look at a changed or new file: its format, and its hash when it may match
//! a known photo (a move, or a touch that left the content alone).

use std::io::Read;
use std::path::Path;

use shoebox_core::{ContentHash, ImageFormat};

use crate::sniff::{SNIFF_LEN, sniff};

/// What the first look found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Probe {
    pub(crate) format: Option<ImageFormat>,
    /// The content hash, when asked for and the file is a readable image.
    pub(crate) hash: Option<ContentHash>,
}

/// Looks at `path`. Unreadable files probe as empty: reading them fully later records why.
pub(crate) fn probe(path: &Path, want_hash: bool) -> Probe {
    let Ok(mut file) = fs_err::File::open(path) else {
        return Probe::default();
    };
    let mut head = [0u8; SNIFF_LEN];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    let format = sniff(&head[..filled]);
    let hash = if want_hash && format.is_some() {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&head[..filled]);
        hasher
            .update_reader(&mut file)
            .ok()
            .map(|h| ContentHash(*h.finalize().as_bytes()))
    } else {
        None
    };
    Probe { format, hash }
}
