//! Engine integration tests: scans of generated trees against a real SQLite store.

mod albums;
mod answers;
mod bad_files;
mod common;
mod exif;
mod faults;
mod offered;
mod orientation;
mod property;
mod search;
mod tree;
mod vary;
mod watch;
