//! Saves that append to the log instead of rewriting the snapshot, and logs cut short.

use std::path::Path;

use shoebox_core::PhotoId;
use shoebox_testkit::ClipLike;
use shoebox_vector::VectorIndex;

use crate::{graph_only, index_of, top};

/// Every file under `dir` with its size, sorted by path.
fn files(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            for (name, size) in files(&entry.path())? {
                out.push((
                    format!("{}/{name}", entry.file_name().to_string_lossy()),
                    size,
                ));
            }
        } else {
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.metadata()?.len(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

fn total(files: &[(String, u64)]) -> u64 {
    files.iter().map(|(_, size)| size).sum()
}

fn load(dir: &Path) -> anyhow::Result<shoebox_vector::Loaded> {
    VectorIndex::load(dir, "test-model", graph_only())?.ok_or_else(|| anyhow::anyhow!("no index"))
}

fn same_results(a: &VectorIndex, b: &VectorIndex, queries: &[Vec<f32>]) {
    assert_eq!((a.len(), a.tombstones()), (b.len(), b.tombstones()));
    for query in queries {
        assert_eq!(top(a, query, 10), top(b, query, 10));
    }
}

#[test]
fn saving_one_new_photo_appends_about_one_vector() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = ClipLike::new(512, 30, 21);
    let mut index = index_of(&data.sample(3_000, 22), graph_only());
    index.save(dir.path(), "wm-1")?;
    let before = files(dir.path())?;

    let new = &data.sample(1, 23)[0];
    index.insert(PhotoId(10_000), new)?;
    index.save(dir.path(), "wm-2")?;
    let after = files(dir.path())?;

    // The snapshot is untouched; the log holds the vector (2 KiB), the rows of the nodes
    // linked to it (2M = 48 neighbours at most, a few dozen nodes) and a commit.
    let snapshot: Vec<_> = after
        .iter()
        .filter(|(n, _)| !n.ends_with("log.bin"))
        .collect();
    assert_eq!(snapshot, before.iter().collect::<Vec<_>>());
    let grown = total(&after) - total(&before);
    eprintln!(
        "one insert: {grown} bytes appended; snapshot {} bytes",
        total(&before)
    );
    assert!((2_048..16 * 1024).contains(&grown), "{grown} bytes");

    let loaded = load(dir.path())?;
    assert_eq!(loaded.watermark, "wm-2");
    assert!(loaded.index.contains(PhotoId(10_000)));
    same_results(&loaded.index, &index, &data.sample(50, 24));

    // A save with nothing new appends a commit only, for the new watermark.
    let before = total(&after);
    loaded.index.save(dir.path(), "wm-3")?;
    assert!(total(&files(dir.path())?) - before < 100);
    assert_eq!(load(dir.path())?.watermark, "wm-3");
    Ok(())
}

#[test]
fn appends_replay_to_the_same_index_and_a_large_one_writes_a_snapshot() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = ClipLike::new(512, 20, 31);
    let queries = data.sample(40, 32);
    let mut index = index_of(&data.sample(2_000, 33), graph_only());
    index.save(dir.path(), "w0")?;
    let mut extra = data.sample(800, 34).into_iter().zip(5_000..);
    // Small saves: inserts, replacements, removals, each appended and reloaded alike.
    for round in 0..4 {
        for (vector, id) in extra.by_ref().take(20) {
            index.insert(PhotoId(id), &vector)?;
        }
        index.insert(PhotoId(round + 1), &data.sample(1, 40 + round as u64)[0])?;
        assert!(index.remove(PhotoId(100 + round)));
        index.save(dir.path(), &format!("w{}", round + 1))?;
        let loaded = load(dir.path())?;
        assert_eq!(loaded.watermark, format!("w{}", round + 1));
        same_results(&loaded.index, &index, &queries);
        assert!(files(dir.path())?.iter().any(|(n, _)| n == "g-0/log.bin"));
    }
    // Inserting a third of the index again: the log would pass a quarter of the snapshot.
    let items: Vec<(PhotoId, Vec<f32>)> = extra.map(|(v, id)| (PhotoId(id), v)).collect();
    let items: Vec<(PhotoId, &[f32])> = items.iter().map(|(p, v)| (*p, v.as_slice())).collect();
    index.insert_batch(&items)?;
    index.save(dir.path(), "big")?;
    let names: Vec<String> = files(dir.path())?.into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().all(|n| !n.starts_with("g-0")), "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with("log.bin")), "{names:?}");
    same_results(&load(dir.path())?.index, &index, &queries);

    // A compacted index is a new graph: its first save is a snapshot too.
    let compacted = index.compacted();
    compacted.save(dir.path(), "compacted")?;
    assert!(
        files(dir.path())?
            .iter()
            .all(|(n, _)| !n.starts_with("g-1"))
    );
    same_results(&load(dir.path())?.index, &compacted, &queries);
    Ok(())
}

#[test]
fn a_torn_log_tail_loads_the_last_whole_save_and_the_next_save_recovers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = ClipLike::new(64, 20, 51);
    let queries = data.sample(40, 52);
    let mut index = index_of(&data.sample(1_500, 53), graph_only());
    index.save(dir.path(), "snapshot")?;
    for (i, vector) in data.sample(10, 54).iter().enumerate() {
        index.insert(PhotoId(9_000 + i as i64), vector)?;
    }
    index.save(dir.path(), "first")?;
    let log = dir.path().join("g-0").join("log.bin");
    let first_len = fs_err::metadata(&log)?.len();
    let at_first = load(dir.path())?.index;

    for (i, vector) in data.sample(10, 55).iter().enumerate() {
        index.insert(PhotoId(9_100 + i as i64), vector)?;
    }
    index.remove(PhotoId(9_000));
    index.save(dir.path(), "second")?;
    let full = fs_err::read(&log)?;

    // Cut anywhere inside the second save's records, or garbage after a whole one.
    let cuts = [
        first_len + 1,
        first_len + 13,
        (first_len + full.len() as u64) / 2,
    ];
    for cut in cuts.into_iter().chain([full.len() as u64 - 1]) {
        fs_err::write(&log, &full[..cut as usize])?;
        let loaded = load(dir.path())?;
        assert_eq!(loaded.watermark, "first", "cut at {cut}");
        same_results(&loaded.index, &at_first, &queries);
        assert!(loaded.index.contains(PhotoId(9_000)));
    }
    let mut garbled = full.clone();
    garbled.extend_from_slice(&[0u8; 100]);
    garbled.extend_from_slice(&full[first_len as usize..]);
    fs_err::write(&log, &garbled)?;
    let loaded = load(dir.path())?;
    assert_eq!(loaded.watermark, "second");
    same_results(&loaded.index, &index, &queries);

    // Loaded from a torn log, the next save cannot append after the garbage: it writes a new
    // snapshot, which loads whole.
    fs_err::write(&log, &full[..full.len() - 5])?;
    let mut loaded = load(dir.path())?.index;
    loaded.insert(PhotoId(9_500), &data.sample(1, 56)[0])?;
    loaded.save(dir.path(), "third")?;
    let again = load(dir.path())?;
    assert_eq!(again.watermark, "third");
    assert!(again.index.contains(PhotoId(9_500)) && again.index.contains(PhotoId(9_001)));
    same_results(&again.index, &loaded, &queries);
    Ok(())
}
