//! `shoebox index` with a model, then `search` and `similar`, with the tiny CLIP checkpoint.
//!
//! The tiny model has random weights, so its similarities mean nothing; the cutoff is turned
//! off and the tests check what holds for any model: fusion with the text side, filters,
//! pages, a photo being most similar to itself, indices surviving damage.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::support::{Sandbox, path_arg};

fn clip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clip-tiny")
}

/// The fixture photos split over two folders; the sandbox indexed with the tiny model.
fn library() -> anyhow::Result<Sandbox> {
    let sb = Sandbox::new()?;
    for (i, name) in ["cat", "coffee", "flower", "rocket", "pagoda"]
        .iter()
        .enumerate()
    {
        let folder = if i < 2 { "home" } else { "travel" };
        shoebox_testkit::put(
            &sb.photos(),
            &format!("{folder}/{name}.jpg"),
            &shoebox_testkit::fixture(&format!("{name}.jpg"))?,
        )?;
    }
    let out = search_cmd(&sb, &["index", path_arg(&sb.photos())?])?;
    anyhow::ensure!(out.contains("5 photos embedded"), "{out}");
    Ok(sb)
}

fn search_cmd(sb: &Sandbox, args: &[&str]) -> anyhow::Result<String> {
    let model = clip_tiny();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--model-dir", path_arg(&model)?]);
    let out = sb
        .command(&all)
        .env("SHOEBOX__SEARCH__MIN_SIMILARITY", "-1")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "shoebox {all:?}: {}",
        crate::support::stderr(&out)
    );
    Ok(String::from_utf8(out.stdout)?)
}

fn hits(sb: &Sandbox, args: &[&str]) -> anyhow::Result<(Vec<String>, serde_json::Value)> {
    let mut all = args.to_vec();
    all.push("--json");
    let page: serde_json::Value = serde_json::from_str(&search_cmd(sb, &all)?)?;
    let names = page["hits"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no hits in {page}"))?
        .iter()
        .filter_map(|h| h["path"].as_str())
        .filter_map(|p| p.rsplit('/').next().map(str::to_owned))
        .collect();
    Ok((names, page))
}

#[test]
fn search_fuses_file_names_filters_and_pages() -> anyhow::Result<()> {
    let sb = library()?;
    let (names, page) = hits(&sb, &["search", "cat"])?;
    assert_eq!(
        page["total"], 5,
        "every photo passes a cutoff of -1: {page}"
    );
    assert_eq!(
        names[0], "cat.jpg",
        "the text side finds the file name and ranks it first"
    );

    let (names, _) = hits(&sb, &["search", "cat -flower"])?;
    assert!(!names.contains(&"flower.jpg".to_owned()), "{names:?}");

    let travel = sb.photos().join("travel");
    let (names, _) = hits(&sb, &["search", "cat", "--folder", path_arg(&travel)?])?;
    let expected: HashSet<String> = ["flower.jpg", "rocket.jpg", "pagoda.jpg"]
        .map(str::to_owned)
        .into();
    assert_eq!(names.into_iter().collect::<HashSet<_>>(), expected);

    let (first, page) = hits(&sb, &["search", "a photo", "--limit", "3"])?;
    let cursor = page["next"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no next in {page}"))?;
    let (second, page) = hits(
        &sb,
        &["search", "a photo", "--limit", "3", "--cursor", cursor],
    )?;
    assert_eq!(
        (first.len(), second.len(), page["next"].is_null()),
        (3, 2, true)
    );
    let all: HashSet<&String> = first.iter().chain(&second).collect();
    assert_eq!(
        all.len(),
        5,
        "pages neither repeat nor skip: {first:?} {second:?}"
    );

    let err = sb.fail(&["search", "cat", "--since", "last week"])?;
    assert!(err.contains("is not a date"), "{err}");
    Ok(())
}

#[test]
fn similar_by_id_and_by_file() -> anyhow::Result<()> {
    let sb = library()?;
    let (_, page) = hits(&sb, &["search", "cat", "--limit", "1"])?;
    let cat_id = page["hits"][0]["photo"].to_string();
    let (names, _) = hits(&sb, &["similar", &cat_id])?;
    assert_eq!(names.len(), 4);
    assert!(
        !names.contains(&"cat.jpg".to_owned()),
        "a photo is not similar to itself"
    );

    let file = shoebox_testkit::fixture_photos().join("rocket.jpg");
    let (names, _) = hits(&sb, &["similar", path_arg(&file)?])?;
    assert_eq!(names[0], "rocket.jpg", "the same picture is the closest");
    Ok(())
}

#[test]
fn a_damaged_vector_index_is_rebuilt_and_an_unchanged_one_is_not_rewritten() -> anyhow::Result<()> {
    let sb = library()?;
    let dir = sb.data().join("index/vector/clip-tiny");
    let current = || fs_err::read_to_string(dir.join("CURRENT"));
    let before = current()?;
    search_cmd(&sb, &["index"])?;
    assert_eq!(current()?, before, "nothing changed, nothing rewritten");

    let slab = dir.join(before.trim()).join("slab.bin");
    fs_err::write(&slab, b"garbage")?;
    let (names, _) = hits(&sb, &["search", "cat"])?;
    assert_eq!(names.len(), 5, "searches still answer");
    assert_ne!(
        current()?,
        before,
        "the index was rebuilt into a new generation"
    );
    Ok(())
}

#[test]
fn an_index_left_stale_by_a_scan_without_embedding_is_rebuilt() -> anyhow::Result<()> {
    let sb = library()?;
    fs_err::remove_file(sb.photos().join("travel/rocket.jpg"))?;
    // The scan marks the photo gone in the store but does not touch the vector index.
    search_cmd(&sb, &["index", "--no-embed"])?;
    let (names, page) = hits(&sb, &["search", "rocket"])?;
    assert_eq!(page["total"], 4, "{page}");
    assert!(!names.contains(&"rocket.jpg".to_owned()), "{names:?}");
    Ok(())
}

#[test]
fn without_a_model_indexing_says_how_to_get_one() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    shoebox_testkit::put(
        &sb.photos(),
        "cat.jpg",
        &shoebox_testkit::fixture("cat.jpg")?,
    )?;
    let out = sb.run(&["index", path_arg(&sb.photos())?])?;
    assert!(
        out.contains("Search by meaning is off") && out.contains("shoebox models pull"),
        "{out}"
    );
    let err = sb.fail(&["search", "cat"])?;
    assert!(err.contains("shoebox models pull"), "{err}");
    Ok(())
}

fn blip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/blip-tiny")
}

#[test]
fn index_captions_photos_and_search_finds_them_by_their_caption() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    for name in ["cat", "rocket", "pagoda"] {
        shoebox_testkit::put(
            &sb.photos(),
            &format!("{name}.jpg"),
            &shoebox_testkit::fixture(&format!("{name}.jpg"))?,
        )?;
    }
    let fixtures = blip_tiny()
        .parent()
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("no fixtures folder"))?;
    // CLIP from --model-dir, the captioner from the models folder the environment names.
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let clip = clip_tiny();
        let mut all = args.to_vec();
        if args[0] != "caption" {
            all.extend(["--model-dir", path_arg(&clip)?]);
        }
        let out = sb
            .command(&all)
            .env("SHOEBOX__SEARCH__MIN_SIMILARITY", "-1")
            .env("SHOEBOX__MODELS__DIR", &fixtures)
            .env("SHOEBOX__MODELS__CAPTIONER", "blip-tiny")
            .output()?;
        anyhow::ensure!(out.status.success(), "{}", crate::support::stderr(&out));
        Ok(String::from_utf8(out.stdout)?)
    };
    // Outside the captioning hours nothing is captioned; the photos wait.
    let hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        / 3600
        % 24;
    let later = format!("{}-{}", (hour + 2) % 24, (hour + 3) % 24);
    let clip = clip_tiny();
    let out = sb
        .command(&[
            "index",
            path_arg(&sb.photos())?,
            "--model-dir",
            path_arg(&clip)?,
        ])
        .env("SHOEBOX__MODELS__DIR", &fixtures)
        .env("SHOEBOX__MODELS__CAPTIONER", "blip-tiny")
        .env("SHOEBOX__CAPTIONS__UTC_HOURS", &later)
        .output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(text.contains("0 captions written"), "{text}");
    assert!(text.contains("3 photos wait for captions"), "{text}");

    let out = run(&["index"])?;
    assert!(out.contains("3 captions written"), "{out}");
    let out = run(&["index"])?;
    assert!(out.contains("0 captions written"), "captioned once: {out}");

    let rocket = sb.photos().join("rocket.jpg");
    let captions: serde_json::Value =
        serde_json::from_str(&run(&["caption", path_arg(&rocket)?, "--json"])?)?;
    let caption = captions[0]["caption"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no caption in {captions}"))?
        .replace(['[', ']'], " ");
    let page: serde_json::Value =
        serde_json::from_str(&run(&["search", &caption, "--explain", "--json"])?)?;
    let rocket_hit = page["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| {
            h["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("rocket.jpg"))
        })
        .ok_or_else(|| anyhow::anyhow!("rocket not found by its caption: {page}"))?;
    assert_eq!(rocket_hit["explain"]["text"]["rank"], 1, "{page}");
    Ok(())
}

#[test]
fn ask_over_a_search_answers_each_hit_then_sums_up() -> anyhow::Result<()> {
    let sb = library()?;
    let fixtures = clip_tiny()
        .parent()
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("no fixtures folder"))?;
    let vqa = fixtures.join("blip-vqa-tiny");
    let out = sb
        .command(&[
            "ask",
            "is there a cat?",
            "--search",
            "cat",
            "--top",
            "3",
            "--model-dir",
            path_arg(&vqa)?,
        ])
        .env("SHOEBOX__SEARCH__MIN_SIMILARITY", "-1")
        .env("SHOEBOX__MODELS__DIR", &fixtures)
        .env("SHOEBOX__MODELS__CLIP", "clip-tiny")
        .output()?;
    anyhow::ensure!(out.status.success(), "{}", crate::support::stderr(&out));
    let out = String::from_utf8(out.stdout)?;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "three answers and a summary: {out}");
    assert!(lines[0].contains("cat.jpg: "), "the best hit first: {out}");
    assert!(lines[3].starts_with("3 answered, 0 failed"), "{out}");
    Ok(())
}

#[test]
fn index_tags_photos_once_and_tags_filter_searches() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    for name in ["cat", "coffee", "flower", "rocket", "pagoda"] {
        shoebox_testkit::put(
            &sb.photos(),
            &format!("{name}.jpg"),
            &shoebox_testkit::fixture(&format!("{name}.jpg"))?,
        )?;
    }
    let vocabulary = sb.data().with_file_name("vocabulary.txt");
    fs_err::write(&vocabulary, "# three labels\nanimal\nbuilding\nfood\n")?;
    // Every photo gets exactly its most likely label.
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let clip = clip_tiny();
        let mut all = args.to_vec();
        all.extend(["--model-dir", path_arg(&clip)?]);
        let out = sb
            .command(&all)
            .env("SHOEBOX__SEARCH__MIN_SIMILARITY", "-1")
            .env("SHOEBOX__TAGS__VOCABULARY", &vocabulary)
            .env("SHOEBOX__TAGS__THRESHOLD", "0")
            .env("SHOEBOX__TAGS__MAX_PER_PHOTO", "1")
            .output()?;
        anyhow::ensure!(out.status.success(), "{}", crate::support::stderr(&out));
        Ok(String::from_utf8(out.stdout)?)
    };
    let out = run(&["index", path_arg(&sb.photos())?])?;
    assert!(out.contains("5 photos tagged (5 tags)"), "{out}");
    let out = run(&["index"])?;
    assert!(out.contains("0 photos tagged"), "scored once: {out}");

    let mut seen = HashSet::new();
    for label in ["animal", "building", "food"] {
        let page: serde_json::Value =
            serde_json::from_str(&run(&["search", "", "--tag", label, "--json"])?)?;
        for hit in page["hits"].as_array().into_iter().flatten() {
            let path = hit["path"].as_str().unwrap_or_default().to_owned();
            assert!(seen.insert(path.clone()), "{path} has two tags");
        }
    }
    assert_eq!(
        seen.len(),
        5,
        "every photo has one of the three tags: {seen:?}"
    );
    Ok(())
}

#[test]
fn vary_makes_variations_that_search_shows_when_asked() -> anyhow::Result<()> {
    let sb = library()?;
    let (_, page) = hits(&sb, &["search", "cat", "--limit", "1"])?;
    let cat = page["hits"][0]["photo"].to_string();
    let sd = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sd-tiny");
    let vary = |seed: &str| -> anyhow::Result<serde_json::Value> {
        let out = search_cmd(
            &sb,
            &[
                "vary",
                &cat,
                "--seed",
                seed,
                "--count",
                "2",
                "--width",
                "64",
                "--height",
                "64",
                "--diffusion-dir",
                path_arg(&sd)?,
                "--json",
            ],
        )?;
        Ok(serde_json::from_str(&out)?)
    };
    let report = vary("11")?;
    let made = report["variations"]
        .as_array()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no variations in {report}"))?;
    assert_eq!(made.len(), 2, "{report}");
    assert_eq!(
        (made[0]["seed"].as_u64(), made[1]["seed"].as_u64()),
        (Some(11), Some(12))
    );
    assert_eq!(made[0]["prompt"], report["prompt"]);
    assert!(
        made.iter().all(|v| v["photo"].is_u64()),
        "indexed: {report}"
    );

    // Left out of searches unless asked for.
    let (names, page) = hits(&sb, &["search", ""])?;
    assert_eq!(page["total"], 5, "{names:?}");
    let (names, page) = hits(&sb, &["search", "", "--generated", "only"])?;
    assert_eq!(page["total"], 2, "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".png")), "{names:?}");
    let (_, page) = hits(&sb, &["search", "cat", "--generated", "included"])?;
    assert_eq!(page["total"], 7);

    // Bad requests are refused with the reason, and nothing is made.
    for (args, reason) in [
        (&["--steps", "0"][..], "steps"),
        (&["--width", "100", "--height", "64"][..], "multiple of 64"),
        (&["--strength", "0.1"][..], "no step"),
        (&["--count", "9"][..], "variations"),
    ] {
        let mut all = vec!["vary", &cat, "--diffusion-dir", path_arg(&sd)?];
        all.extend(args);
        let err = sb.fail(&all)?;
        assert!(err.contains(reason), "{args:?}: {err}");
    }
    let (_, page) = hits(&sb, &["search", "", "--generated", "only"])?;
    assert_eq!(page["total"], 2);
    let err = sb.fail(&["vary", "999", "--diffusion-dir", path_arg(&sd)?])?;
    assert!(err.contains("photo 999"), "{err}");
    Ok(())
}
