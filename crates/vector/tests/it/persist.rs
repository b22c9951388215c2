//! Dump → reload, and dumps that must be refused.

use shoebox_testkit::ClipLike;
use shoebox_vector::{Error, IndexParams, VectorIndex};

use crate::{graph_only, index_of, top};

#[test]
fn dump_then_reload_gives_identical_results() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = ClipLike::new(32, 10, 7);
    let mut index = index_of(&data.sample(2_000, 8), graph_only());
    index.remove(shoebox_core::PhotoId(5));
    index.save(dir.path(), "wm-1")?;
    // A second save appends to the first one's log: still one generation.
    index.save(dir.path(), "wm-2")?;
    let generations = fs_err::read_dir(dir.path())?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("g-"))
        })
        .count();
    assert_eq!(generations, 1);

    let loaded = VectorIndex::load(dir.path(), "test-model", graph_only())?.expect("a dump");
    assert_eq!(loaded.watermark, "wm-2");
    assert_eq!((loaded.index.len(), loaded.index.tombstones()), (1_999, 1));
    assert!(!loaded.index.contains(shoebox_core::PhotoId(5)));
    for query in data.sample(50, 9) {
        assert_eq!(top(&loaded.index, &query, 10), top(&index, &query, 10));
    }
    Ok(())
}

#[test]
fn an_empty_index_round_trips() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    VectorIndex::new("m", 4, IndexParams::default()).save(dir.path(), "w0")?;
    let loaded = VectorIndex::load(dir.path(), "m", IndexParams::default())?.expect("a dump");
    assert_eq!(
        (
            loaded.index.len(),
            loaded.index.dim(),
            loaded.watermark.as_str()
        ),
        (0, 4, "w0")
    );
    Ok(())
}

#[test]
fn nothing_dumped_is_none_and_another_model_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(VectorIndex::load(dir.path(), "m", IndexParams::default())?.is_none());
    index_of(&ClipLike::new(8, 2, 1).sample(10, 1), graph_only()).save(dir.path(), "w")?;
    let err = VectorIndex::load(dir.path(), "other-model", IndexParams::default()).unwrap_err();
    assert!(err.to_string().contains("holds model test-model"), "{err}");
    Ok(())
}

#[test]
fn truncated_or_damaged_files_are_errors_not_panics() -> anyhow::Result<()> {
    let index = index_of(&ClipLike::new(16, 4, 2).sample(300, 3), graph_only());
    for victim in ["slab.bin", "graph.bin", "manifest.json"] {
        let dir = tempfile::tempdir()?;
        index.save(dir.path(), "w")?;
        let path = dir.path().join("g-0").join(victim);
        let len = fs_err::metadata(&path)?.len();
        fs_err::OpenOptions::new()
            .write(true)
            .open(&path)?
            .set_len(len / 2)?;
        let err = VectorIndex::load(dir.path(), "test-model", IndexParams::default()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{victim}: {err}");
    }
    Ok(())
}

#[test]
fn a_few_vectors_round_trip() -> anyhow::Result<()> {
    for n in [1, 2, 7] {
        let dir = tempfile::tempdir()?;
        let index = index_of(
            &ClipLike::new(16, 4, 2).sample(n, 3),
            IndexParams::default(),
        );
        index.save(dir.path(), "w")?;
        let loaded = VectorIndex::load(dir.path(), "test-model", IndexParams::default())?;
        assert_eq!(loaded.map(|l| l.index.len()), Some(n));
    }
    Ok(())
}

#[test]
fn an_older_format_loads_as_none_and_is_rebuilt() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let old = dir.path().join("g-3");
    fs_err::create_dir_all(&old)?;
    fs_err::write(
        old.join("manifest.json"),
        r#"{"format": 2, "model_id": "test-model"}"#,
    )?;
    fs_err::write(old.join("graph.hnsw.graph"), b"hnsw_rs dump")?;
    fs_err::write(dir.path().join("CURRENT"), "g-3\n")?;
    assert!(VectorIndex::load(dir.path(), "test-model", IndexParams::default())?.is_none());

    // The rebuilt index replaces it.
    let index = index_of(&ClipLike::new(16, 4, 2).sample(50, 3), graph_only());
    index.save(dir.path(), "w")?;
    assert!(!old.exists());
    let loaded = VectorIndex::load(dir.path(), "test-model", IndexParams::default())?;
    assert_eq!(loaded.map(|l| l.index.len()), Some(50));
    Ok(())
}
