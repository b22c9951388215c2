//! The everyday commands on the shared fixture photos.

use crate::support::{Sandbox, field, path_arg};

#[test]
fn index_status_show_and_roots() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let photos = sb.photos();
    fs_err::create_dir_all(&photos)?;
    let mut count = 0;
    for entry in fs_err::read_dir(shoebox_testkit::fixture_photos())? {
        let entry = entry?;
        if entry.path().extension().is_some_and(|e| e == "jpg") {
            fs_err::copy(entry.path(), photos.join(entry.file_name()))?;
            count += 1;
        }
    }
    fs_err::write(photos.join("broken.jpg"), b"not really")?;
    let photos_arg = path_arg(&photos)?;

    let summary = sb.json(&["index", photos_arg, "--json"])?;
    assert_eq!(field(&summary, "new")?, count);
    assert_eq!(field(&summary, "failed")?, 1);

    let text = sb.run(&["index"])?;
    assert!(text.contains(&format!("{} unchanged", count + 1)), "{text}");
    // Switches reach the settings: the broken file is read again (and fails again).
    let again = sb.json(&["index", "--retry-failed", "--no-caption", "--json"])?;
    assert_eq!(field(&again, "failed")?, 1, "{again}");

    let status = sb.json(&["status", "--json"])?;
    assert_eq!(
        (field(&status, "ok")?, field(&status, "failed")?),
        (count, 1)
    );
    assert!(
        status["failures"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("not an image"))
    );
    let text = sb.run(&["status"])?;
    assert!(text.contains("broken.jpg: not an image"), "{text}");

    let photo = sb.json(&["show", "1", "--json"])?;
    assert_eq!(photo["status"], "ok");
    assert_eq!(photo["metadata"]["format"], "jpeg");
    assert!(sb.fail(&["show", "999"])?.contains("no photo with id 999"));

    let roots = sb.json(&["roots", "list", "--json"])?;
    let canonical = fs_err::canonicalize(&photos)?;
    assert_eq!(roots[0]["path"].as_str(), canonical.to_str());
    let nested = photos.join("nested");
    fs_err::create_dir_all(&nested)?;
    assert!(
        sb.fail(&["roots", "add", path_arg(&nested)?])?
            .contains("cannot be nested")
    );
    assert!(sb.run(&["roots", "remove", "1"])?.contains("removed"));
    let status = sb.json(&["status", "--json"])?;
    assert_eq!((field(&status, "roots")?, field(&status, "ok")?), (0, 0));
    assert!(
        photos.join("cat.jpg").is_file(),
        "removing a root leaves the photos alone"
    );
    Ok(())
}

#[test]
fn clear_errors_for_bad_invocations() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    assert!(sb.fail(&["index"])?.contains("no library roots yet"));
    let missing = sb.dir.path().join("nowhere");
    assert!(
        sb.fail(&["index", path_arg(&missing)?])?
            .contains("cannot use as a library root")
    );
    assert!(
        sb.fail(&["--config", path_arg(&missing)?, "status"])?
            .contains("config file not found")
    );

    let config = sb.dir.path().join("bad.toml");
    fs_err::write(&config, "[indexer]\nthreads = \"many\"\n")?;
    assert!(
        sb.fail(&["--config", path_arg(&config)?, "status"])?
            .contains("threads")
    );

    let out = sb
        .command(&["status"])
        .env("SHOEBOX__THUMBNAILS__QUALITY", "0")
        .output()?;
    assert!(!out.status.success());
    assert!(crate::support::stderr(&out).contains("thumbnails.quality"));
    Ok(())
}
