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

/// A checkpoint split into shards with a `model.safetensors.index.json` (as the large models
/// ship) loads the same weights; a shard named outside the directory is refused.
#[test]
fn sharded_weights_load_like_one_file() -> anyhow::Result<()> {
    let dir = copy()?;
    let single = dir.path().join("model.safetensors");
    let tensors = candle_core::safetensors::load(&single, &candle_core::Device::Cpu)?;
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let (first, second) = names.split_at(names.len() / 2);
    let mut weight_map = serde_json::Map::new();
    for (shard, part) in [
        ("model-00001-of-00002.safetensors", first),
        ("model-00002-of-00002.safetensors", second),
    ] {
        let part: std::collections::HashMap<String, candle_core::Tensor> = part
            .iter()
            .map(|&name| (name.clone(), tensors[name].clone()))
            .collect();
        candle_core::safetensors::save(&part, dir.path().join(shard))?;
        for name in part.keys() {
            weight_map.insert(name.clone(), shard.into());
        }
    }
    fs_err::remove_file(&single)?;
    let index = dir.path().join("model.safetensors.index.json");
    fs_err::write(
        &index,
        serde_json::json!({ "metadata": {}, "weight_map": weight_map }).to_string(),
    )?;

    let text = "a photo of a cat";
    let sharded = load(dir.path())?.embed_text(text)?;
    let whole = load(&clip_tiny())?.embed_text(text)?;
    assert_eq!(sharded, whole);

    weight_map.insert("extra".to_owned(), "../model.safetensors".into());
    fs_err::write(
        &index,
        serde_json::json!({ "weight_map": weight_map }).to_string(),
    )?;
    let err = load(dir.path()).err();
    assert!(matches!(err, Some(Error::InvalidFile { .. })), "{err:?}");
    Ok(())
}
