//! `pull` and `verify` against a fake hub on loopback serving the tiny checkpoint.

use std::path::Path;

use sha2::{Digest, Sha256};
use shoebox_ml::{Catalog, DownloadProgress, Error, FileState, Hub, ModelSpec, pull, verify};
use shoebox_testkit::FakeHub;

use crate::clip_tiny;

const FILES: [&str; 4] = [
    "config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "model.safetensors",
];
const REPO: &str = "test/clip-tiny";
const REVISION: &str = "0123456789abcdef0123456789abcdef01234567";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A catalog file naming the tiny checkpoint's files and checksums.
fn catalog(dir: &Path) -> anyhow::Result<ModelSpec> {
    let mut files = String::new();
    for name in FILES {
        let bytes = fs_err::read(clip_tiny().join(name))?;
        files += &format!(
            "{{ name = \"{name}\", sha256 = \"{}\" }},\n",
            sha256(&bytes)
        );
    }
    let path = dir.join("catalog.toml");
    fs_err::write(
        &path,
        format!(
            "[[model]]\nname = \"clip-tiny\"\nfamily = \"clip\"\nrepo = \"{REPO}\"\n\
             revision = \"{REVISION}\"\ndimension = 24\ndescription = \"test\"\nfiles = [\n{files}]\n"
        ),
    )?;
    Ok(Catalog::load(Some(&path))?.get("clip-tiny")?.clone())
}

fn hub_with_fixture() -> anyhow::Result<FakeHub> {
    let hub = FakeHub::start()?;
    for name in FILES {
        hub.put(REPO, REVISION, name, fs_err::read(clip_tiny().join(name))?);
    }
    Ok(hub)
}

#[derive(Default)]
struct Recorder {
    started: Vec<(String, u64)>,
    bytes: u64,
    finished: usize,
}

impl DownloadProgress for Recorder {
    fn start(&mut self, file: &str, bytes: u64) {
        self.started.push((file.to_owned(), bytes));
    }
    fn advance(&mut self, bytes: u64) {
        self.bytes += bytes;
    }
    fn finish(&mut self) {
        self.finished += 1;
    }
}

#[test]
fn pulls_verifies_and_skips_what_is_installed() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let model = catalog(tmp.path())?;
    let hub = hub_with_fixture()?;
    let dir = tmp.path().join("models/clip-tiny");
    let endpoint = Hub {
        endpoint: hub.endpoint().to_owned(),
    };

    let mut progress = Recorder::default();
    let fetched = pull(&model, &dir, &endpoint, &mut progress)?;
    assert_eq!(fetched, FILES);
    let total: u64 = FILES
        .iter()
        .map(|f| fs_err::metadata(clip_tiny().join(f)).map(|m| m.len()))
        .sum::<Result<_, _>>()?;
    assert_eq!(progress.bytes, total);
    assert!(
        progress
            .started
            .iter()
            .any(|(f, _)| f == "model.safetensors")
    );
    assert!(
        verify(&model, &dir)?
            .iter()
            .all(|(_, s)| *s == FileState::Ok)
    );
    assert!(
        !tmp.path().join("models/.hub").exists(),
        "the download cache is cleaned up"
    );
    // What was pulled loads and is the fixture's model.
    let clip = shoebox_ml::Clip::load(&dir, "clip-tiny", &shoebox_ml::Device::Cpu)?;
    let reference = shoebox_ml::Clip::load(&clip_tiny(), "clip-tiny", &shoebox_ml::Device::Cpu)?;
    assert_eq!(
        clip.embed_text("a cat")?.vector,
        reference.embed_text("a cat")?.vector
    );

    // A second pull fetches nothing.
    let before = hub.requests().len();
    assert!(pull(&model, &dir, &endpoint, &mut Recorder::default())?.is_empty());
    assert_eq!(hub.requests().len(), before);

    // A damaged file is found by verify and replaced by the next pull, alone.
    fs_err::write(dir.join("config.json"), b"{}")?;
    let states = verify(&model, &dir)?;
    assert!(matches!(states[0], (ref f, FileState::Corrupt { .. }) if f == "config.json"));
    assert_eq!(
        pull(&model, &dir, &endpoint, &mut Recorder::default())?,
        ["config.json"]
    );
    Ok(())
}

#[test]
fn a_corrupt_download_is_refused_and_nothing_good_is_lost() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let model = catalog(tmp.path())?;
    let hub = hub_with_fixture()?;
    let dir = tmp.path().join("models/clip-tiny");
    let endpoint = Hub {
        endpoint: hub.endpoint().to_owned(),
    };
    pull(&model, &dir, &endpoint, &mut Recorder::default())?;

    // The hub now serves other bytes under the same name; the installed copy is gone.
    let mut weights = fs_err::read(clip_tiny().join("model.safetensors"))?;
    weights[1000] ^= 0xff;
    hub.put(REPO, REVISION, "model.safetensors", weights);
    fs_err::remove_file(dir.join("model.safetensors"))?;
    let err = pull(&model, &dir, &endpoint, &mut Recorder::default()).err();
    let message = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(err, Some(Error::Checksum { ref file, .. }) if file == "model.safetensors"));
    assert!(
        message.contains("shoebox models pull clip-tiny"),
        "{message}"
    );
    let states = verify(&model, &dir)?;
    assert_eq!(
        states[3].1,
        FileState::Missing,
        "the corrupt file was not installed"
    );
    assert!(states[..3].iter().all(|(_, s)| *s == FileState::Ok));
    Ok(())
}

#[test]
fn a_file_the_hub_lacks_is_named() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let model = catalog(tmp.path())?;
    let hub = FakeHub::start()?;
    let endpoint = Hub {
        endpoint: hub.endpoint().to_owned(),
    };
    let err = pull(
        &model,
        &tmp.path().join("m/clip-tiny"),
        &endpoint,
        &mut Recorder::default(),
    )
    .err();
    assert!(
        matches!(err, Some(Error::Download { ref file, .. }) if file == "config.json"),
        "{err:?}"
    );
    Ok(())
}
