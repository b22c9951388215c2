//! Zero-shot classification with CLIP's 80 templates matches the reference's probabilities.

use candle_core::{DType, Device};
use serde::Deserialize;
use shoebox_core::Embedding;
use shoebox_ml::{Clip, ZeroShot, imagenet_templates};

use crate::clip_tiny;

#[derive(Deserialize)]
struct Reference {
    labels: Vec<String>,
}

#[test]
fn probabilities_match_the_reference() -> anyhow::Result<()> {
    let dir = clip_tiny();
    let clip = Clip::load(&dir, "clip-tiny", &Device::Cpu)?;
    let reference: Reference =
        serde_json::from_str(&fs_err::read_to_string(dir.join("reference.json"))?)?;
    let tensors = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu)?;
    let images = tensors["image_embeds"]
        .to_dtype(DType::F32)?
        .to_vec2::<f32>()?;
    let expected = tensors["zero_shot_probs"]
        .to_dtype(DType::F32)?
        .to_vec2::<f32>()?;

    let templates = imagenet_templates();
    assert_eq!(templates.len(), 80);
    let zero_shot = ZeroShot::new(&clip, &reference.labels, &templates)?;
    for (image, expected) in images.into_iter().zip(expected) {
        let image = Embedding {
            model_id: "clip-tiny".to_owned(),
            vector: image,
        };
        let predictions = zero_shot.classify(&image)?;
        assert_eq!(predictions[0].rank, 1);
        assert!((predictions.iter().map(|p| p.probability).sum::<f32>() - 1.0).abs() < 1e-5);
        for p in &predictions {
            let i = reference
                .labels
                .iter()
                .position(|l| *l == p.label)
                .ok_or_else(|| anyhow::anyhow!("label"))?;
            assert!(
                (p.probability - expected[i]).abs() <= 1e-4,
                "{}: {} vs {}",
                p.label,
                p.probability,
                expected[i]
            );
        }
    }
    Ok(())
}

#[test]
fn templates_need_a_placeholder() -> anyhow::Result<()> {
    let clip = Clip::load(&clip_tiny(), "clip-tiny", &Device::Cpu)?;
    let err = ZeroShot::new(&clip, &["cat".to_owned()], &["a photo"])
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("{}")));
    Ok(())
}
