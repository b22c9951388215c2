//! Library roots.

use std::path::Path;

use shoebox_core::{Error, MetadataStore};

use crate::support::{insert, path, store};

#[tokio::test]
async fn adding_is_idempotent_and_nesting_is_refused() -> anyhow::Result<()> {
    let f = store().await?;
    let (root, new) = f.store.add_root(Path::new("/srv/photos")).await?;
    assert!(new);
    let (again, new) = f.store.add_root(Path::new("/srv/photos")).await?;
    assert!(!new);
    assert_eq!(again, root);

    for nested in ["/srv/photos/2020", "/srv"] {
        let err = f.store.add_root(Path::new(nested)).await.err();
        assert!(
            matches!(err, Some(Error::Conflict(ref m)) if m.contains("nested")),
            "{nested}: {err:?}"
        );
    }
    // A shared string prefix is not nesting.
    f.store.add_root(Path::new("/srv/photos2")).await?;
    let paths: Vec<_> = f.store.roots().await?.into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec![path("/srv/photos"), path("/srv/photos2")]);
    Ok(())
}

#[tokio::test]
async fn removing_a_root_removes_its_records_only() -> anyhow::Result<()> {
    let f = store().await?;
    let (a, _) = f.store.add_root(Path::new("/a")).await?;
    let (b, _) = f.store.add_root(Path::new("/b")).await?;
    f.store
        .apply(vec![insert(a.id, "x.jpg", 1), insert(b.id, "y.jpg", 2)])
        .await?;
    f.store.remove_root(a.id).await?;
    assert!(f.store.known_photos(a.id).await?.is_empty());
    assert_eq!(f.store.known_photos(b.id).await?.len(), 1);
    let err = f.store.remove_root(a.id).await.err();
    assert!(matches!(err, Some(Error::NotFound { .. })), "{err:?}");
    Ok(())
}
