//! Status counts, failures and folder problems.

use shoebox_core::{MetadataStore, PhotoWrite, ScanProblem};

use crate::support::{failed, insert, replace, root, store};

#[tokio::test]
async fn counts_failures_and_problems() -> anyhow::Result<()> {
    let f = store().await?;
    let r = root(&f.store, "/p").await?;
    f.store
        .apply(vec![
            insert(r, "a.jpg", 1),
            insert(r, "b.jpg", 2),
            failed(r, "c.jpg", "not an image"),
            failed(r, "d.jpg", "empty file"),
        ])
        .await?;
    let b = f.store.known_photos(r).await?[1].id;
    f.store.apply(vec![PhotoWrite::MarkGone { id: b }]).await?;
    let problem = |p: &str| ScanProblem {
        rel_path: p.to_owned(),
        reason: format!("cannot read folder {p}"),
    };
    f.store
        .set_problems(r, vec![problem("x"), problem("y")])
        .await?;

    let status = f.store.status(1).await?;
    assert_eq!(
        (status.roots, status.ok, status.failed, status.gone),
        (1, 1, 2, 1)
    );
    assert_eq!(status.failures.len(), 1, "the limit applies");
    assert_eq!(status.failures[0].root, "/p");
    assert_eq!(status.problems.len(), 2);

    // The next scan's problems replace the last ones.
    f.store.set_problems(r, vec![problem("z")]).await?;
    let status = f.store.status(10).await?;
    assert_eq!(status.failures.len(), 2);
    let paths: Vec<_> = status
        .problems
        .iter()
        .map(|p| p.rel_path.as_str())
        .collect();
    assert_eq!(paths, vec!["z"]);

    // The counts are kept as records come back and go with their root.
    let known = f.store.known_photos(r).await?;
    let (a, c) = (known[0].id, known[2].id);
    f.store
        .apply(vec![PhotoWrite::MarkGone { id: a }, replace(c, 5)])
        .await?;
    let status = f.store.status(0).await?;
    assert_eq!((status.ok, status.failed, status.gone), (1, 1, 2));
    f.store.remove_root(r).await?;
    let status = f.store.status(0).await?;
    assert_eq!((status.ok, status.failed, status.gone), (0, 0, 0));
    Ok(())
}
