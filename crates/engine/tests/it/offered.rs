//! Roots an admin adds from the web UI: the sub-folders of `[storage] root_parents`, picked by
//! their place in the server's list (with the name the person saw), never by a path.

use crate::common::Library;

#[tokio::test]
async fn offered_folders_are_picked_by_place_and_name() -> anyhow::Result<()> {
    let parents = tempfile::tempdir()?;
    for folder in ["b-trip", "a-home", ".hidden"] {
        fs_err::create_dir_all(parents.path().join(folder))?;
    }
    fs_err::write(parents.path().join("not-a-folder.jpg"), b"x")?;
    let parent = parents.path().to_owned();
    let lib = Library::with(move |s| s.storage.root_parents = vec![parent]).await?;
    let engine = &lib.engine;
    let offered = engine.offered_roots().await?;
    let names: Vec<String> = offered
        .iter()
        .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names,
        ["a-home", "b-trip"],
        "sorted, folders only, hidden left out"
    );

    // The name must still be the one at that place: a changed list is refused.
    assert!(engine.add_offered_root(0, "b-trip").await.is_err());
    assert!(engine.add_offered_root(7, "a-home").await.is_err());
    assert!(engine.roots().await?.is_empty());
    let root = engine.add_offered_root(1, "b-trip").await?;
    assert_eq!(root.path, offered[1]);
    // A root is offered no more.
    let names: Vec<_> = engine.offered_roots().await?;
    assert_eq!(names, [offered[0].clone()]);

    // A parent that is gone offers nothing (an unmounted drive), and is no error.
    drop(parents);
    assert!(engine.offered_roots().await?.is_empty());
    Ok(())
}
