//! `shoebox embed`, `classify`, `eval` and `models` with the tiny CLIP checkpoint.

use std::path::PathBuf;

use crate::support::{Sandbox, path_arg};

fn clip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clip-tiny")
}

fn cat() -> PathBuf {
    shoebox_testkit::fixture_photos().join("cat.jpg")
}

#[test]
fn classify_prints_ranked_probabilities() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let (model, cat) = (clip_tiny(), cat());
    let labels = "cat,rocket,cup of coffee,flower,pagoda";
    let out = sb.run(&[
        "classify",
        path_arg(&cat)?,
        "--labels",
        labels,
        "--model-dir",
        path_arg(&model)?,
    ])?;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    for (i, line) in lines.iter().enumerate() {
        assert!(
            line.ends_with(&format!("ranked {} out of 5 labels", i + 1)),
            "{line}"
        );
    }
    let json = sb.json(&[
        "classify",
        path_arg(&cat)?,
        "--labels",
        labels,
        "--model-dir",
        path_arg(&model)?,
        "--json",
    ])?;
    let probabilities: Vec<f64> = json
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("not a list"))?
        .iter()
        .filter_map(|p| p["probability"].as_f64())
        .collect();
    assert_eq!(probabilities.len(), 5);
    assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    assert!(probabilities.windows(2).all(|w| w[0] >= w[1]), "sorted");

    let err = sb.fail(&[
        "classify",
        path_arg(&cat)?,
        "--labels",
        "cat",
        "--template",
        "a photo",
        "--model-dir",
        path_arg(&model)?,
    ])?;
    assert!(err.contains("has no {}"), "{err}");
    Ok(())
}

#[test]
fn embed_prints_unit_vectors() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let (model, cat) = (clip_tiny(), cat());
    let args = [
        "embed",
        "--image",
        path_arg(&cat)?,
        "--text",
        "a photo of a cat.",
        "--model-dir",
        path_arg(&model)?,
        "--json",
    ];
    let rows = sb.json(&args)?;
    let rows = rows
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("not a list"))?;
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["dim"], 24);
        assert_eq!(row["model_id"], "clip-tiny");
        let v: Vec<f64> = row["vector"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_f64())
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }
    assert_ne!(rows[0]["vector"], rows[1]["vector"]);
    assert_eq!(
        sb.json(&args)?.as_array().map(|a| a[0]["vector"].clone()),
        Some(rows[0]["vector"].clone()),
        "deterministic"
    );
    Ok(())
}

#[test]
fn a_missing_model_names_the_fix() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let err = sb.fail(&["embed", "--text", "hello"])?;
    assert!(
        err.contains("is not installed") && err.contains("--model-dir"),
        "{err}"
    );
    let empty = sb.dir.path().join("empty-model");
    fs_err::create_dir_all(&empty)?;
    let err = sb.fail(&["embed", "--text", "hello", "--model-dir", path_arg(&empty)?])?;
    assert!(
        err.contains("model file missing") && err.contains("config.json"),
        "{err}"
    );
    Ok(())
}

#[test]
fn eval_zero_shot_and_retrieval() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let model = clip_tiny();
    let data = sb.dir.path().join("eval");
    let photos = shoebox_testkit::fixture_photos();
    for (label, file) in [
        ("cat", "cat.jpg"),
        ("rocket", "rocket.jpg"),
        ("cup_of_coffee", "coffee.jpg"),
    ] {
        fs_err::create_dir_all(data.join(label))?;
        fs_err::copy(photos.join(file), data.join(label).join(file))?;
    }
    let report = sb.json(&[
        "eval",
        "zero-shot",
        path_arg(&data)?,
        "--model-dir",
        path_arg(&model)?,
        "--json",
    ])?;
    assert_eq!(report["photos"], 3);
    let labels: Vec<&str> = report["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["label"].as_str())
        .collect();
    assert_eq!(labels, ["cat", "cup of coffee", "rocket"]);
    // With three labels the true label is always within the top five.
    assert_eq!(report["top5"], 1.0);

    let tsv = data.join("captions.tsv");
    fs_err::write(
        &tsv,
        "cat/cat.jpg\ta cat\nrocket/rocket.jpg\ta rocket\ncat/cat.jpg\ta sleepy cat\n",
    )?;
    let report = sb.json(&[
        "eval",
        "retrieval",
        path_arg(&tsv)?,
        "--model-dir",
        path_arg(&model)?,
        "--json",
    ])?;
    assert_eq!(
        (report["images"].as_u64(), report["captions"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(report["text_to_image"][2], 1.0, "R@10 over two images is 1");

    fs_err::write(&tsv, "no tab here\n")?;
    let err = sb.fail(&[
        "eval",
        "retrieval",
        path_arg(&tsv)?,
        "--model-dir",
        path_arg(&model)?,
    ])?;
    assert!(err.contains("line 1: expected IMAGE<TAB>CAPTION"), "{err}");
    Ok(())
}

/// `shoebox models list | pull | verify` against a fake hub serving the tiny checkpoint.
#[test]
fn models_pull_verify_and_use() -> anyhow::Result<()> {
    use sha2::{Digest, Sha256};

    let sb = Sandbox::new()?;
    let hub = shoebox_testkit::FakeHub::start()?;
    let (repo, rev) = ("test/clip-tiny", "89abcdef0123456789abcdef0123456789abcdef");
    let mut files = String::new();
    for name in [
        "config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "model.safetensors",
    ] {
        let bytes = fs_err::read(clip_tiny().join(name))?;
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        files += &format!("{{ name = \"{name}\", sha256 = \"{sha}\" }},\n");
        hub.put(repo, rev, name, bytes);
    }
    let catalog = sb.dir.path().join("catalog.toml");
    fs_err::write(
        &catalog,
        format!(
            "[[model]]\nname = \"clip-tiny\"\nfamily = \"clip\"\nrepo = \"{repo}\"\n\
             revision = \"{rev}\"\ndimension = 24\ndescription = \"tiny\"\nfiles = [\n{files}]\n"
        ),
    )?;
    let run = |args: &[&str]| {
        sb.command(args)
            .env("SHOEBOX__MODELS__HUB", hub.endpoint())
            .env("SHOEBOX__MODELS__CATALOG", &catalog)
            .env("SHOEBOX__MODELS__CLIP", "clip-tiny")
            .output()
    };
    let text = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let err = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();

    let list = run(&["models", "list"])?;
    let listing = text(&list);
    assert!(listing.contains("clip-vit-base-patch32"), "{listing}");
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("clip-tiny") && l.contains("in use, not installed")),
        "{listing}"
    );
    let missing = run(&["embed", "--text", "hello"])?;
    assert!(!missing.status.success());
    assert!(
        err(&missing).contains("shoebox models pull clip-tiny"),
        "{}",
        err(&missing)
    );

    let pulled = run(&["models", "pull"])?;
    assert!(pulled.status.success(), "{}", err(&pulled));
    assert!(
        text(&pulled).contains("model.safetensors"),
        "{}",
        text(&pulled)
    );
    let verified = run(&["models", "verify"])?;
    assert!(verified.status.success(), "{}", err(&verified));
    assert_eq!(
        text(&verified)
            .lines()
            .filter(|l| l.ends_with(" ok"))
            .count(),
        4
    );
    let embedded = run(&["embed", "--text", "hello", "--json"])?;
    assert!(embedded.status.success(), "{}", err(&embedded));

    let installed = sb.data().join("models/clip-tiny/tokenizer.json");
    fs_err::write(&installed, b"{}")?;
    let broken = run(&["models", "verify"])?;
    assert!(!broken.status.success());
    assert!(text(&broken).contains("tokenizer.json") && text(&broken).contains("corrupt"));
    assert!(
        err(&broken).contains("shoebox models pull clip-tiny"),
        "{}",
        err(&broken)
    );
    let repaired = run(&["models", "pull", "clip-tiny"])?;
    assert!(
        text(&repaired).contains("tokenizer.json checked and installed"),
        "{}",
        text(&repaired)
    );
    assert!(run(&["models", "verify", "clip-tiny"])?.status.success());

    let unknown = run(&["models", "pull", "no-such-model"])?;
    assert!(
        err(&unknown).contains("unknown model \"no-such-model\""),
        "{}",
        err(&unknown)
    );
    Ok(())
}

fn blip_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/blip-tiny")
}

#[test]
fn caption_describes_photos_and_names_a_file_it_cannot_read() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let (model, cat) = (blip_tiny(), cat());
    let rocket = shoebox_testkit::fixture_photos().join("rocket.jpg");
    let json = sb.json(&[
        "caption",
        path_arg(&cat)?,
        path_arg(&rocket)?,
        "--prompt",
        "a picture of",
        "--model-dir",
        path_arg(&model)?,
        "--json",
    ])?;
    let captions: Vec<&str> = json
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("not a list"))?
        .iter()
        .filter_map(|c| c["caption"].as_str())
        .collect();
    assert_eq!(captions.len(), 2, "{json}");
    for caption in &captions {
        assert!(caption.len() > "a picture of ".len(), "{caption}");
        assert!(caption.starts_with("a picture of "), "{caption}");
    }
    assert_ne!(captions[0], captions[1], "two photos, one caption");

    let broken = sb.photos().join("broken.jpg");
    fs_err::create_dir_all(sb.photos())?;
    fs_err::write(&broken, b"not a jpeg")?;
    let err = sb.fail(&[
        "caption",
        path_arg(&broken)?,
        "--model-dir",
        path_arg(&model)?,
    ])?;
    assert!(err.contains("broken.jpg"), "{err}");

    let err = sb.fail(&["caption", path_arg(&cat)?])?;
    assert!(
        err.contains("blip-image-captioning-base is not installed"),
        "{err}"
    );
    Ok(())
}

#[test]
fn ask_answers_in_english_and_refuses_other_languages_and_empty_questions() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let (model, cat) = (blip_tiny().with_file_name("blip-vqa-tiny"), cat());
    let (model, cat) = (path_arg(&model)?, path_arg(&cat)?);
    let ask = |question: &'static str, lang: &'static str| {
        [
            "ask",
            question,
            "--photo",
            cat,
            "--lang",
            lang,
            "--model-dir",
            model,
        ]
    };
    let mut english = ask("how many cats are there?", "en").to_vec();
    english.push("--json");
    let json = sb.json(&english)?;
    assert!(
        json["answer"].as_str().is_some_and(|a| !a.is_empty()),
        "{json}"
    );
    let err = sb.fail(&ask("wie viele katzen?", "de"))?;
    assert!(err.contains("does not answer in \"de\""), "{err}");
    let err = sb.fail(&ask(" ", "en"))?;
    assert!(err.contains("bad question"), "{err}");
    Ok(())
}

#[test]
fn paligemma_captions_and_answers_in_other_languages() -> anyhow::Result<()> {
    let sb = Sandbox::new()?;
    let model = blip_tiny().with_file_name("paligemma-tiny");
    let (model, cat) = (path_arg(&model)?, cat());
    let cat = path_arg(&cat)?;
    let json = sb.json(&[
        "caption",
        cat,
        "--lang",
        "de",
        "--model-dir",
        model,
        "--json",
    ])?;
    assert!(json[0]["caption"].is_string(), "{json}");
    let json = sb.json(&[
        "ask",
        "was ist das?",
        "--photo",
        cat,
        "--lang",
        "de",
        "--model-dir",
        model,
        "--json",
    ])?;
    assert!(json["answer"].is_string(), "{json}");
    // A CLIP checkpoint is no captioner.
    let clip = clip_tiny();
    let err = sb.fail(&["caption", cat, "--model-dir", path_arg(&clip)?])?;
    assert!(err.contains("model_type"), "{err}");
    Ok(())
}
