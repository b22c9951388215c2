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

const LIVE_PHOTOS: u64 = 120;

/// Fails with the child's own words when it has exited.
fn exited_early(child: &mut std::process::Child) -> anyhow::Result<()> {
    if let Some(status) = child.try_wait()? {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr)?;
        }
        anyhow::bail!("shoebox watch exited early ({status}): {stderr}");
    }
    Ok(())
}

/// `shoebox watch` killed with SIGKILL mid-pipeline (some photos embedded, others not) and
/// started again converges: every photo embedded, tagged and in both indices exactly once,
/// the jobs the killed run held taken back, the queue empty.
#[test]
fn killed_live_library_resumes_and_does_each_photo_once() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let photos = sb.photos();
    let base = jpeg(1600, 1200, 3)?;
    for i in 0..LIVE_PHOTOS {
        shoebox_testkit::put(
            &photos,
            &format!("d{}/{i:03}.jpg", i % 5),
            &with_comment(&base, &format!("photo {i}"))?,
        )?;
    }
    let models = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let live = |args: &[&str]| {
        let mut cmd = sb.command(args);
        cmd.env("SHOEBOX__MODELS__DIR", &models)
            .env("SHOEBOX__MODELS__CLIP", "clip-tiny")
            .env("SHOEBOX__MODELS__BATCH_SIZE", "4")
            .env("SHOEBOX__INDEXER__THREADS", "1")
            .env("SHOEBOX__CAPTIONS__ENABLED", "false");
        cmd
    };
    let stage = |status: &serde_json::Value, name: &str| -> anyhow::Result<u64> {
        status["pipeline"]["stages"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["stage"] == name))
            .map(|s| field(s, "done"))
            .ok_or_else(|| anyhow::anyhow!("no stage {name} in {status}"))?
    };
    let status = || -> anyhow::Result<serde_json::Value> {
        let out = live(&["status", "--json"]).output()?;
        anyhow::ensure!(
            out.status.success(),
            "status: {}",
            crate::support::stderr(&out)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    };

    let mut child = live(&["watch", path_arg(&photos)?])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    // Wait, by polling the store with a deadline, until embedding is under way.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let embedded = stage(&status()?, "embed")?;
        if embedded >= 8 {
            anyhow::ensure!(
                embedded < LIVE_PHOTOS,
                "everything was embedded before the kill; the tree is too small for this machine"
            );
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "no embedding in time");
        exited_early(&mut child)?;
        std::thread::sleep(Duration::from_millis(20));
    }
    let busy = live(&["watch"]).output()?;
    assert!(
        !busy.status.success(),
        "a second live library on the same data"
    );
    child.kill()?;
    child.wait()?;
    let killed = status()?;
    assert!(
        stage(&killed, "embed")? < LIVE_PHOTOS,
        "killed mid-pipeline"
    );

    let mut child = live(&["watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(300);
    let done = loop {
        let s = status()?;
        let jobs_left: u64 = s["pipeline"]["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|st| {
                field(&st["jobs"], "queued").unwrap_or(1)
                    + field(&st["jobs"], "running").unwrap_or(1)
            })
            .sum();
        if stage(&s, "embed")? == LIVE_PHOTOS && stage(&s, "tag")? == LIVE_PHOTOS && jobs_left == 0
        {
            break s;
        }
        anyhow::ensure!(Instant::now() < deadline, "did not converge: {s}");
        exited_early(&mut child)?;
        std::thread::sleep(Duration::from_millis(50));
    };
    // A clean stop (SIGTERM, as systemd and docker send) lets the run finish its pass.
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(term.success());
    let exit = child.wait()?;
    assert!(exit.success(), "shoebox watch stopped with {exit}");
    assert_eq!(
        (field(&done, "ok")?, field(&done, "failed")?),
        (LIVE_PHOTOS, 0)
    );
    assert_eq!(done["pipeline"]["failures"], serde_json::json!([]));

    // Both indices hold each photo once: browsing lists every photo, and the photos most
    // like one are all the others.
    let listed = |args: &[&str]| -> anyhow::Result<Vec<i64>> {
        let out = live(args)
            .env("SHOEBOX__SEARCH__MIN_SIMILARITY", "-1")
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{args:?}: {}",
            crate::support::stderr(&out)
        );
        let page: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(page["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["photo"].as_i64())
            .collect())
    };
    let limit = (2 * LIVE_PHOTOS).to_string();
    let mut browsed = listed(&["search", "", "--limit", &limit, "--json"])?;
    browsed.sort_unstable();
    browsed.dedup();
    assert_eq!(browsed.len() as u64, LIVE_PHOTOS, "text index");
    let mut similar = listed(&[
        "similar",
        &browsed[0].to_string(),
        "--limit",
        &limit,
        "--json",
    ])?;
    similar.sort_unstable();
    similar.dedup();
    assert_eq!(similar.len() as u64, LIVE_PHOTOS - 1, "vector index");
    Ok(())
}
