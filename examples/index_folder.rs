//! Index a photo folder with the engine and look at what was learned.
//!
//! How to run:
//!
//! ```sh
//! cargo run --release -p shoebox-engine --example index_folder -- ~/Pictures
//! ```
//!
//! The library goes into a temporary data directory that is deleted at the end, so this
//! leaves no trace; `shoebox index` is the same operation on your real data directory.

#![allow(clippy::print_stdout, reason = "a walkthrough prints what it shows")]

use std::path::PathBuf;

use anyhow::Context;
use shoebox_core::{MetadataStore, PhotoStatus};
use shoebox_engine::{Engine, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let folder: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .context("usage: index_folder PHOTO_FOLDER")?;

    // 1. Settings: the embedded defaults, with the data directory pointed somewhere temporary.
    let data = tempfile::tempdir()?;
    let mut settings = Settings::default();
    settings.storage.data_dir = data.path().to_owned();

    // 2. The engine opens (and migrates) the SQLite database in the data directory.
    let engine = Engine::open(settings).await?;

    // 3. Indexing adds the folder as a library root and scans it: walk, sniff, hash, EXIF,
    //    thumbnails, then one transaction per batch of photos.
    let summary = engine.index(&[folder], &()).await?;
    println!("{summary:#?}");

    // 4. Every photo now has a record; failures carry their reason.
    let root = engine.roots().await?.remove(0);
    for known in engine.store().known_photos(root.id).await?.iter().take(10) {
        let Some(photo) = engine.photo(known.id).await? else {
            continue;
        };
        match (photo.status, &photo.metadata) {
            (PhotoStatus::Ok, Some(m)) => println!(
                "{:>5}  {}  {} {}×{} taken {:?}",
                photo.id,
                photo.rel_path,
                m.format,
                m.width,
                m.height,
                m.taken_at.map(|t| t.local)
            ),
            _ => println!("{:>5}  {}  {:?}", photo.id, photo.rel_path, photo.error),
        }
    }
    Ok(())
}
