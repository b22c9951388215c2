//! A scan killed with SIGKILL loses nothing it stored, and the next scan converges.

use std::process::Stdio;
use std::time::{Duration, Instant};

use shoebox_testkit::{jpeg, with_comment};

use crate::support::{Sandbox, field, path_arg};

const PHOTOS: u64 = 300;

#[test]
fn killed_scan_resumes_and_converges() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let photos = sb.photos();
    fs_err::create_dir_all(&photos)?;
    // One image, many files: a comment segment makes each file's bytes (and hash) unique.
    let base = jpeg(1024, 768, 7)?;
    for i in 0..PHOTOS {
        let dir = photos.join(format!("d{}", i % 7));
        fs_err::create_dir_all(&dir)?;
        fs_err::write(
            dir.join(format!("{i:04}.jpg")),
            with_comment(&base, &format!("photo {i}"))?,
        )?;
    }
    let photos_arg = path_arg(&photos)?;
    sb.run(&["roots", "add", photos_arg])?;

    let mut child = sb
        .command(&["index"])
        .env("SHOEBOX__INDEXER__BATCH_SIZE", "4")
        .env("SHOEBOX__INDEXER__THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;

    // Wait, by polling the store with a deadline, until some batches are committed.
    let deadline = Instant::now() + Duration::from_secs(120);
    let stored = loop {
        let status = sb.json(&["status", "--json"])?;
        let stored = field(&status, "ok")?;
        if stored >= 8 {
            break stored;
        }
        anyhow::ensure!(Instant::now() < deadline, "no batch committed in time");
        anyhow::ensure!(child.try_wait()?.is_none(), "indexer exited early");
        std::thread::sleep(Duration::from_millis(20));
    };
    let busy = sb.fail(&["index"])?;
    assert!(busy.contains("another scan is running"), "{busy}");
    anyhow::ensure!(
        child.try_wait()?.is_none(),
        "the indexer finished before it could be killed; the tree is too small for this machine"
    );
    child.kill()?;
    child.wait()?;

    let after_kill = sb.json(&["status", "--json"])?;
    let kept = field(&after_kill, "ok")?;
    assert!(
        kept >= stored && kept < PHOTOS,
        "killed mid-run with {kept} of {PHOTOS} stored"
    );
    let before: Vec<serde_json::Value> = (1..=kept)
        .map(|id| sb.json(&["show", &id.to_string(), "--json"]))
        .collect::<anyhow::Result<_>>()?;

    let resumed = sb.json(&["index", "--json"])?;
    assert_eq!(
        field(&resumed, "unchanged")?,
        kept,
        "what was stored is not read again"
    );
    assert_eq!(field(&resumed, "new")?, PHOTOS - kept);
    let status = sb.json(&["status", "--json"])?;
    assert_eq!(
        (
            field(&status, "ok")?,
            field(&status, "failed")?,
            field(&status, "gone")?
        ),
        (PHOTOS, 0, 0),
        "every file recorded exactly once"
    );
    let partial = sb.data().join("thumbs/.partial");
    assert_eq!(
        fs_err::read_dir(&partial)?.count(),
        0,
        "half-written thumbnails are cleared"
    );
    for (id, old) in (1..=kept).zip(before) {
        let now = sb.json(&["show", &id.to_string(), "--json"])?;
        assert_eq!(
            (&now["rel_path"], &now["hash"]),
            (&old["rel_path"], &old["hash"]),
            "photo {id} kept"
        );
    }
    Ok(())
}
