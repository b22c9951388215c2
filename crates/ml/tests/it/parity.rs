//! Parity with the reference implementations on the tiny CLIP and SigLIP checkpoints
//! (transformers) and MobileCLIP checkpoint (open_clip + timm): preprocessing, image tower,
//! text tokenisation and tower, end to end from the JPEG.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use serde::Deserialize;
use shoebox_core::ImageEmbedder;
use shoebox_ml::{Clip, Precision};

use crate::{clip_tiny, max_abs_diff, mobileclip_tiny, photo, rgb, siglip_tiny};

#[derive(Deserialize)]
struct Reference {
    photos: Vec<String>,
    pixel_photos: Vec<String>,
    texts: Vec<String>,
    input_ids: Vec<Vec<u32>>,
    /// `[length, id]` when the reference pads every text to the context (SigLIP).
    #[serde(default)]
    padding: Option<(usize, u32)>,
}

struct Fixture {
    name: &'static str,
    clip: Clip,
    reference: Reference,
    tensors: HashMap<String, Tensor>,
}

/// The tiny checkpoints.
fn fixtures() -> anyhow::Result<[Fixture; 3]> {
    Ok([
        fixture("clip-tiny", clip_tiny())?,
        fixture("siglip-tiny", siglip_tiny())?,
        fixture("mobileclip-tiny", mobileclip_tiny())?,
    ])
}

fn fixture(name: &'static str, dir: PathBuf) -> anyhow::Result<Fixture> {
    let clip = Clip::load(&dir, name, &Device::Cpu)?;
    let reference = serde_json::from_str(&fs_err::read_to_string(dir.join("reference.json"))?)?;
    let tensors = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu)?;
    Ok(Fixture {
        name,
        clip,
        reference,
        tensors,
    })
}

impl Fixture {
    fn tensor(&self, name: &str) -> anyhow::Result<Tensor> {
        Ok(self
            .tensors
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("no {name} in reference"))?
            .to_dtype(DType::F32)?)
    }
}

fn rows(vectors: &[Vec<f32>]) -> anyhow::Result<Tensor> {
    let dim = vectors.first().map_or(0, Vec::len);
    Ok(Tensor::from_vec(
        vectors.concat(),
        (vectors.len(), dim),
        &Device::Cpu,
    )?)
}

#[test]
fn preprocessing_matches_the_reference_processor() -> anyhow::Result<()> {
    for f in fixtures()? {
        check_preprocessing(&f)?;
    }
    Ok(())
}

fn check_preprocessing(f: &Fixture) -> anyhow::Result<()> {
    let reference = f.tensor("pixel_values")?;
    for (i, name) in f.reference.pixel_photos.iter().enumerate() {
        // Same decoded pixels as the reference (Pillow's, stored with the CLIP fixture):
        // resize, crop and normalisation must agree up to the f16 rounding of the stored
        // tensor.
        let stem = name.trim_end_matches(".jpg");
        let decoded = rgb(image::open(
            clip_tiny().join(format!("decoded-{stem}.png")),
        )?);
        let ours = f.clip.pixel_tensor(&decoded)?;
        assert_eq!(ours.dims(), &reference.dims()[1..]);
        let diff = max_abs_diff(&ours, &reference.get(i)?)?;
        assert!(diff <= 2e-3, "{}/{name}: pixels differ by {diff}", f.name);

        // From the JPEG, our decoder's output differs from libjpeg-turbo's by a few levels.
        let diff = max_abs_diff(&f.clip.pixel_tensor(&photo(name)?)?, &reference.get(i)?)?;
        eprintln!(
            "{}/{name}: pixels from our JPEG decoder differ by {diff}",
            f.name
        );
        assert!(
            diff <= 0.1,
            "{}/{name}: pixels from the JPEG differ by {diff}",
            f.name
        );
    }
    Ok(())
}

#[test]
fn image_tower_matches_on_reference_pixels() -> anyhow::Result<()> {
    for f in fixtures()? {
        let ours = f.clip.embed_pixels(&f.tensor("pixel_values")?)?;
        let ours = rows(&ours.into_iter().map(|e| e.vector).collect::<Vec<_>>())?;
        let diff = max_abs_diff(&ours, &f.tensor("image_embeds_from_pixels")?)?;
        eprintln!(
            "{}: image embeddings from the reference pixels differ by {diff}",
            f.name
        );
        assert!(
            diff <= 1e-4,
            "{}: image embeddings differ by {diff}",
            f.name
        );
    }
    Ok(())
}

#[test]
fn images_match_end_to_end_from_the_jpeg() -> anyhow::Result<()> {
    for f in fixtures()? {
        check_end_to_end(&f)?;
    }
    Ok(())
}

fn check_end_to_end(f: &Fixture) -> anyhow::Result<()> {
    let reference = f.tensor("image_embeds")?;
    let images = f
        .reference
        .photos
        .iter()
        .map(|n| photo(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ours = f.clip.embed_images(&images)?;
    let dim = reference.dim(1)?;
    assert!(ours.iter().all(|e| e.model_id == f.name && e.dim() == dim));
    let ours = rows(&ours.into_iter().map(|e| e.vector).collect::<Vec<_>>())?;
    let diff = max_abs_diff(&ours, &reference)?;
    eprintln!("{}: end-to-end image embeddings differ by {diff}", f.name);
    assert!(
        diff <= 1e-2,
        "{}: end-to-end image embeddings differ by {diff}",
        f.name
    );
    // The check can fail: the embeddings of any two photos are further apart than that.
    for i in 0..images.len() {
        for j in (0..images.len()).filter(|&j| j != i) {
            let apart = max_abs_diff(&reference.get(i)?, &reference.get(j)?)?;
            assert!(
                apart > 3e-2,
                "{}: photos {i} and {j} are only {apart} apart",
                f.name
            );
        }
    }
    Ok(())
}

#[test]
fn text_tokens_and_tower_match() -> anyhow::Result<()> {
    for f in fixtures()? {
        let texts: Vec<&str> = f.reference.texts.iter().map(String::as_str).collect();
        for (text, ids) in texts.iter().zip(&f.reference.input_ids) {
            let mut ours = f.clip.token_ids(text)?;
            if let Some((len, pad)) = f.reference.padding {
                ours.resize(len, pad);
            }
            assert_eq!(&ours, ids, "{}: {text:?}", f.name);
        }
        let ours = f.clip.embed_texts(&texts)?;
        let ours = rows(&ours.into_iter().map(|e| e.vector).collect::<Vec<_>>())?;
        let diff = max_abs_diff(&ours, &f.tensor("text_embeds")?)?;
        eprintln!("{}: text embeddings differ by {diff}", f.name);
        assert!(diff <= 1e-4, "{}: text embeddings differ by {diff}", f.name);
    }
    Ok(())
}

#[test]
fn bf16_products_stay_close_to_the_reference() -> anyhow::Result<()> {
    for mut f in fixtures()? {
        if f.clip.set_precision(Precision::Bf16)? != Precision::Bf16 {
            eprintln!(
                "{}: stays f32 (no AVX-512 BF16 here, or not our towers)",
                f.name
            );
            continue;
        }
        let images = f.clip.embed_pixels(&f.tensor("pixel_values")?)?;
        let texts: Vec<&str> = f.reference.texts.iter().map(String::as_str).collect();
        let texts = f.clip.embed_texts(&texts)?;
        for (ours, name) in [(images, "image_embeds_from_pixels"), (texts, "text_embeds")] {
            let reference = f.tensor(name)?.to_vec2::<f32>()?;
            assert_eq!(ours.len(), reference.len());
            for (a, b) in ours.iter().zip(&reference) {
                let cosine: f32 = a.vector.iter().zip(b).map(|(x, y)| x * y).sum();
                let diff = a
                    .vector
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                eprintln!(
                    "{} {name}: bf16 cosine {cosine:.6}, max abs diff {diff:.2e}",
                    f.name
                );
                // Not bit-equal (the products round), but the same direction.
                assert!(cosine > 0.999, "{} {name}: cosine {cosine}", f.name);
                assert!(diff > 0.0, "{} {name}: bf16 gave the f32 numbers", f.name);
            }
        }
    }
    Ok(())
}
