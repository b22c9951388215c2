//! Property: any sequence of adds, edits, moves and deletes followed by a scan leaves the
//! store equal to the tree on disk.

use std::path::PathBuf;

use proptest::prelude::*;
use shoebox_testkit::png;

use crate::common::{Library, assert_store_matches_disk};

#[derive(Debug, Clone)]
enum Op {
    Add { name: u8, dir: u8, seed: u8 },
    Edit { pick: u8, seed: u8 },
    Move { pick: u8, name: u8, dir: u8 },
    Delete { pick: u8 },
    Scan,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..6u8, 0..3u8, any::<u8>()).prop_map(|(name, dir, seed)| Op::Add { name, dir, seed }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(pick, seed)| Op::Edit { pick, seed }),
        2 => (any::<u8>(), 0..6u8, 0..3u8).prop_map(|(pick, name, dir)| Op::Move { pick, name, dir }),
        1 => any::<u8>().prop_map(|pick| Op::Delete { pick }),
        1 => Just(Op::Scan),
    ]
}

const DIRS: [&str; 3] = ["", "a", "a/b"];

fn path(name: u8, dir: u8) -> String {
    let dir = DIRS[usize::from(dir) % DIRS.len()];
    if dir.is_empty() {
        format!("p{name}.png")
    } else {
        format!("{dir}/p{name}.png")
    }
}

/// Files on disk, sorted, so that `pick` selects one deterministically.
fn files(lib: &Library) -> anyhow::Result<Vec<PathBuf>> {
    Ok(crate::common::disk(&lib.photos)?
        .into_keys()
        .map(|p| lib.photos.join(p))
        .collect())
}

async fn run(ops: Vec<Op>) -> anyhow::Result<()> {
    let lib = Library::new().await?;
    for op in ops {
        let existing = files(&lib)?;
        let pick = |p: u8| {
            existing
                .get(usize::from(p) % existing.len().max(1))
                .cloned()
        };
        match op {
            // Seeds share 16 contents, so identical files happen too.
            Op::Add { name, dir, seed } => {
                drop(lib.put(&path(name, dir), &png(6, 6, u64::from(seed % 16))?)?)
            }
            Op::Edit { pick: p, seed } => {
                if let Some(file) = pick(p) {
                    fs_err::write(file, png(7, 5, u64::from(seed))?)?;
                }
            }
            Op::Move { pick: p, name, dir } => {
                if let Some(file) = pick(p) {
                    let to = lib.photos.join(path(name, dir));
                    if let Some(parent) = to.parent() {
                        fs_err::create_dir_all(parent)?;
                    }
                    fs_err::rename(file, to)?;
                }
            }
            Op::Delete { pick: p } => {
                if let Some(file) = pick(p) {
                    fs_err::remove_file(file)?;
                }
            }
            Op::Scan => {
                lib.scan().await?;
                assert_store_matches_disk(&lib).await?;
            }
        }
    }
    lib.scan().await?;
    assert_store_matches_disk(&lib).await?;
    let again = lib.scan().await?;
    assert_eq!(
        (again.new, again.changed, again.moved, again.removed),
        (0, 0, 0, 0),
        "a second scan changes nothing"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn store_equals_tree_after_any_changes(ops in prop::collection::vec(op(), 1..16)) {
        let rt = tokio::runtime::Runtime::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(run(ops)).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    }
}
