//! BLIP captioning and question answering against transformers on the tiny checkpoints
//! (`tests/fixtures/gen_blip.py`): preprocessing, the image tower, and greedy decodes with every
//! step's logits.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use serde::Deserialize;
use shoebox_ml::{Blip, Error, Generation};

use crate::{blip_tiny, blip_vqa_tiny, clip_tiny, max_abs_diff, photo, rgb};

#[derive(Deserialize)]
struct Reference {
    pixel_photos: Vec<String>,
    prompts: Vec<String>,
    steps: usize,
    decodes: Vec<Decode>,
    min_top1_margin: f32,
}

#[derive(Deserialize)]
struct Decode {
    photo: String,
    prompt: String,
    ids: Vec<u32>,
    text: String,
}

fn fixture() -> anyhow::Result<(Blip, Reference, HashMap<String, Tensor>)> {
    let dir = blip_tiny();
    let blip = Blip::load(&dir, "blip-tiny", &Device::Cpu)?;
    let reference = serde_json::from_str(&fs_err::read_to_string(dir.join("reference.json"))?)?;
    let tensors = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu)?;
    Ok((blip, reference, tensors))
}

fn tensor(tensors: &HashMap<String, Tensor>, name: &str) -> anyhow::Result<Tensor> {
    Ok(tensors
        .get(name)
        .ok_or_else(|| anyhow::anyhow!("no {name} in reference"))?
        .to_dtype(DType::F32)?)
}

#[test]
fn preprocessing_and_image_tower_match() -> anyhow::Result<()> {
    let (blip, reference, tensors) = fixture()?;
    let pixels = tensor(&tensors, "pixel_values")?;
    for (i, name) in reference.pixel_photos.iter().enumerate() {
        let stem = name.trim_end_matches(".jpg");
        let decoded = rgb(image::open(
            clip_tiny().join(format!("decoded-{stem}.png")),
        )?);
        let ours = blip.pixel_tensor(&decoded)?;
        assert_eq!(ours.dims(), &[3, 384, 384]);
        let diff = max_abs_diff(&ours, &pixels.get(i)?)?;
        assert!(diff <= 2e-3, "{name}: pixels differ by {diff}");
    }
    let diff = max_abs_diff(
        &blip.image_tokens(&pixels)?,
        &tensor(&tensors, "image_embeds")?,
    )?;
    eprintln!("image tokens differ by {diff}");
    assert!(diff <= 1e-3, "image tokens differ by {diff}");
    Ok(())
}

#[test]
fn greedy_decodes_and_every_steps_logits_match() -> anyhow::Result<()> {
    let (blip, reference, tensors) = fixture()?;
    // The ids comparison is meaningful only if the logits' tolerance is below every step's
    // top-1 margin.
    assert!(
        reference.min_top1_margin > 2e-3,
        "{}",
        reference.min_top1_margin
    );
    let pixels = tensor(&tensors, "pixel_values")?;
    for (i, photo) in reference.pixel_photos.iter().enumerate() {
        for (j, prompt) in reference.prompts.iter().enumerate() {
            let want = reference
                .decodes
                .iter()
                .find(|d| &d.photo == photo && &d.prompt == prompt)
                .ok_or_else(|| anyhow::anyhow!("no decode for {photo} / {prompt:?}"))?;
            let generation = Generation {
                max_new_tokens: reference.steps,
                min_new_tokens: reference.steps,
                ..Generation::default()
            };
            let got = blip.generate(&pixels.get(i)?.unsqueeze(0)?, prompt, generation)?;
            assert_eq!(got.ids, want.ids, "{photo} / {prompt:?}");
            assert_eq!(got.text, want.text, "{photo} / {prompt:?}");
            let logits = tensor(&tensors, &format!("logits.{i}.{j}"))?;
            assert_eq!(got.logits.len(), reference.steps);
            for (step, row) in got.logits.iter().enumerate() {
                let ours = Tensor::new(row.as_slice(), &Device::Cpu)?;
                let diff = max_abs_diff(&ours, &logits.get(step)?)?;
                assert!(
                    diff <= 1e-3,
                    "{photo} / {prompt:?} step {step}: logits differ by {diff}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn captions_a_jpeg_and_refuses_a_prompt_longer_than_the_decoder() -> anyhow::Result<()> {
    let (blip, _, _) = fixture()?;
    let photo = photo("cat.jpg")?;
    let caption = blip.caption(&photo, "a picture of")?;
    assert!(caption.starts_with("a picture of "), "{caption}");
    let long = "cat ".repeat(200);
    let err = blip.caption(&photo, &long).err();
    assert!(matches!(err, Some(Error::Unsupported(_))), "{err:?}");
    Ok(())
}

#[derive(Deserialize)]
struct VqaReference {
    pixel_photos: Vec<String>,
    questions: Vec<String>,
    steps: usize,
    answers: Vec<Answer>,
    min_top1_margin: f32,
}

#[derive(Deserialize)]
struct Answer {
    photo: String,
    question: String,
    ids: Vec<u32>,
    text: String,
}

#[test]
fn answers_and_every_steps_logits_match_the_question_answering_reference() -> anyhow::Result<()> {
    let dir = blip_vqa_tiny();
    let blip = Blip::load(&dir, "blip-vqa-tiny", &Device::Cpu)?;
    assert!(blip.answers_questions());
    let reference: VqaReference =
        serde_json::from_str(&fs_err::read_to_string(dir.join("reference.json"))?)?;
    assert!(
        reference.min_top1_margin > 2e-3,
        "{}",
        reference.min_top1_margin
    );
    let tensors = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu)?;
    let pixels = tensor(&tensors, "pixel_values")?;
    for (i, photo) in reference.pixel_photos.iter().enumerate() {
        for (j, question) in reference.questions.iter().enumerate() {
            let want = reference
                .answers
                .iter()
                .find(|a| &a.photo == photo && &a.question == question)
                .ok_or_else(|| anyhow::anyhow!("no answer for {photo} / {question:?}"))?;
            let generation = Generation {
                max_new_tokens: reference.steps,
                min_new_tokens: reference.steps,
                ..Generation::default()
            };
            let got = blip.generate_answer(&pixels.get(i)?.unsqueeze(0)?, question, generation)?;
            assert_eq!(got.ids, want.ids, "{photo} / {question:?}");
            assert_eq!(got.text, want.text, "{photo} / {question:?}");
            let logits = tensor(&tensors, &format!("logits.{i}.{j}"))?;
            for (step, row) in got.logits.iter().enumerate() {
                let ours = Tensor::new(row.as_slice(), &Device::Cpu)?;
                let diff = max_abs_diff(&ours, &logits.get(step)?)?;
                assert!(
                    diff <= 1e-3,
                    "{photo} / {question:?} step {step}: logits differ by {diff}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn empty_long_and_misdirected_questions() -> anyhow::Result<()> {
    let vqa = Blip::load(&blip_vqa_tiny(), "blip-vqa-tiny", &Device::Cpu)?;
    let photo = photo("cat.jpg")?;
    for empty in ["", "  \n "] {
        let err = vqa.answer(&photo, empty).err();
        assert!(matches!(err, Some(Error::Question(_))), "{err:?}");
    }
    // Longer than the encoder's positions: truncated as the reference does, still answered.
    let long = "what is in the picture? ".repeat(40);
    assert!(!vqa.answer(&photo, &long)?.is_empty());
    // A captioning checkpoint has no question encoder.
    let (captioner, _, _) = fixture()?;
    assert!(!captioner.answers_questions());
    let err = captioner.answer(&photo, "what is this?").err();
    assert!(matches!(err, Some(Error::Unsupported(_))), "{err:?}");
    Ok(())
}
