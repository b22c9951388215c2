//! Clear errors for broken model directories.

use std::path::Path;

use shoebox_ml::{Clip, Device, Error};

use crate::{clip_tiny, mobileclip_tiny};

/// A copy of the tiny checkpoint that a test may break.
fn copy() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for name in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
    ] {
        fs_err::copy(clip_tiny().join(name), dir.path().join(name))?;
    }
    Ok(dir)
}

fn load(dir: &Path) -> Result<Clip, Error> {
    Clip::load(dir, "broken", &Device::Cpu)
}

#[test]
fn missing_file_is_named() -> anyhow::Result<()> {
    let dir = copy()?;
    fs_err::remove_file(dir.path().join("tokenizer.json"))?;
    let err = load(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("model file missing") && err.contains("tokenizer.json"),
        "{err}"
    );
    Ok(())
}

#[test]
fn truncated_weights_are_invalid() -> anyhow::Result<()> {
    let dir = copy()?;
    let weights = dir.path().join("model.safetensors");
    let bytes = fs_err::read(&weights)?;
    fs_err::write(&weights, &bytes[..bytes.len() / 2])?;
    let err = load(dir.path()).err();
    assert!(matches!(err, Some(Error::InvalidFile { .. })), "{err:?}");
    Ok(())
}

#[test]
fn config_that_does_not_fit_the_weights() -> anyhow::Result<()> {
    let dir = copy()?;
    let path = dir.path().join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&path)?)?;
    config["vision_config"]["hidden_size"] = 64.into();
    fs_err::write(&path, config.to_string())?;
    let err = load(dir.path()).err();
    assert!(
        matches!(err, Some(Error::WeightsMismatch { .. })),
        "{err:?}"
    );

    config["vision_config"]["hidden_size"] = 32.into();
    config["vision_config"]["hidden_act"] = "swish".into();
    fs_err::write(&path, config.to_string())?;
    let err = load(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("swish"), "{err}");
    Ok(())
}

/// A copy of the tiny MobileCLIP checkpoint that a test may break.
fn mobileclip_copy() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for name in [
        "open_clip_config.json",
        "open_clip_model.safetensors",
        "tokenizer.json",
    ] {
        fs_err::copy(mobileclip_tiny().join(name), dir.path().join(name))?;
    }
    Ok(dir)
}

#[test]
fn mobileclip_without_a_branch_or_with_a_causal_text_tower_is_refused() -> anyhow::Result<()> {
    let dir = mobileclip_copy()?;
    assert!(load(dir.path()).is_ok(), "the intact copy loads");

    // A MobileOne block whose weights are gone is an error, not a silently smaller model.
    let weights = dir.path().join("open_clip_model.safetensors");
    let mut tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu)?;
    tensors.retain(|name, _| !name.starts_with("visual.trunk.stem.1."));
    candle_core::safetensors::save(&tensors, &weights)?;
    let err = load(dir.path()).err();
    assert!(
        matches!(&err, Some(Error::WeightsMismatch { reason, .. }) if reason.contains("stem.1")),
        "{err:?}"
    );

    let dir = mobileclip_copy()?;
    let path = dir.path().join("open_clip_config.json");
    let mut config: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&path)?)?;
    config["model_cfg"]["text_cfg"]["no_causal_mask"] = false.into();
    fs_err::write(&path, config.to_string())?;
    let err = load(dir.path()).err();
    assert!(matches!(err, Some(Error::Unsupported(_))), "{err:?}");
    Ok(())
}
