//! PaliGemma against transformers on the tiny checkpoint (`tests/fixtures/gen_paligemma.py`):
//! prompt ids, preprocessing, and greedy decodes with every step's logits.

use candle_core::{DType, Device, Tensor};
use serde::Deserialize;
use shoebox_ml::{Error, Generation, PaliGemma};

use crate::{clip_tiny, max_abs_diff, paligemma_tiny, photo, rgb};

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
    prefix_ids: Vec<u32>,
    ids: Vec<u32>,
    text: String,
}

#[test]
fn prompts_pixels_decodes_and_every_steps_logits_match() -> anyhow::Result<()> {
    let dir = paligemma_tiny();
    let model = PaliGemma::load(&dir, "paligemma-tiny", &Device::Cpu)?;
    let reference: Reference =
        serde_json::from_str(&fs_err::read_to_string(dir.join("reference.json"))?)?;
    assert!(
        reference.min_top1_margin > 2e-3,
        "{}",
        reference.min_top1_margin
    );
    let tensors = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu)?;
    let pixels = tensors
        .get("pixel_values")
        .ok_or_else(|| anyhow::anyhow!("no pixels"))?
        .to_dtype(DType::F32)?;
    for (i, photo) in reference.pixel_photos.iter().enumerate() {
        let stem = photo.trim_end_matches(".jpg");
        let decoded = rgb(image::open(
            clip_tiny().join(format!("decoded-{stem}.png")),
        )?);
        let diff = max_abs_diff(&model.pixel_tensor(&decoded)?, &pixels.get(i)?)?;
        assert!(diff <= 2e-3, "{photo}: pixels differ by {diff}");
        for (j, prompt) in reference.prompts.iter().enumerate() {
            let want = reference
                .decodes
                .iter()
                .find(|d| &d.photo == photo && &d.prompt == prompt)
                .ok_or_else(|| anyhow::anyhow!("no decode for {photo} / {prompt:?}"))?;
            assert_eq!(model.prompt_ids(prompt)?, want.prefix_ids, "{prompt:?}");
            let generation = Generation {
                max_new_tokens: reference.steps,
                min_new_tokens: reference.steps,
                ..Generation::default()
            };
            let got = model.generate(&pixels.get(i)?.unsqueeze(0)?, prompt, generation)?;
            let logits = tensors
                .get(&format!("logits.{i}.{j}"))
                .ok_or_else(|| anyhow::anyhow!("no logits"))?;
            for (step, row) in got.logits.iter().enumerate() {
                let ours = Tensor::new(row.as_slice(), &Device::Cpu)?;
                let diff = max_abs_diff(&ours, &logits.get(step)?)?;
                assert!(
                    diff <= 1e-3,
                    "{photo} / {prompt:?} step {step}: logits differ by {diff}"
                );
            }
            assert_eq!(got.ids, want.ids, "{photo} / {prompt:?}");
            assert_eq!(got.text, want.text, "{photo} / {prompt:?}");
        }
    }
    Ok(())
}

#[test]
fn captions_and_answers_a_jpeg_and_refuses_empty_questions() -> anyhow::Result<()> {
    let model = PaliGemma::load(&paligemma_tiny(), "paligemma-tiny", &Device::Cpu)?;
    let photo = photo("cat.jpg")?;
    // Random weights write nonsense, but in any language asked for and without failing.
    for lang in ["en", "de", "ja"] {
        model.caption(&photo, lang)?;
    }
    model.answer(&photo, "what is in this image", "en")?;
    let err = model.answer(&photo, "   ", "en").err();
    assert!(matches!(err, Some(Error::Question(_))), "{err:?}");
    Ok(())
}
