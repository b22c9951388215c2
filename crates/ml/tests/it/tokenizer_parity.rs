//! Tokenizer parity with transformers on 1,200 strings with unicode, emoji, odd whitespace,
//! punctuation, empty and very long ones: CLIP's tokenizer on the real BPE vocabulary
//! (truncated to 77), and SigLIP's (lower-casing, punctuation removal, SentencePiece; 64).

use serde::Deserialize;
use shoebox_ml::{Clip, Device};

use std::path::Path;

use crate::{clip_tiny, siglip_tiny};

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
}

#[test]
fn clip_ids_match_the_reference_on_every_case() -> anyhow::Result<()> {
    check(&clip_tiny(), 77)
}

#[test]
fn siglip_ids_match_the_reference_on_every_case() -> anyhow::Result<()> {
    check(&siglip_tiny(), 64)
}

fn check(dir: &Path, context: usize) -> anyhow::Result<()> {
    let clip = Clip::load(dir, "tiny", &Device::Cpu)?;
    let cases: Vec<Case> =
        serde_json::from_str(&fs_err::read_to_string(dir.join("tokenizer-cases.json"))?)?;
    assert!(cases.len() >= 1000);
    assert!(
        cases.iter().any(|c| c.ids.len() == context),
        "some cases are truncated"
    );
    let mismatches: Vec<String> = cases
        .iter()
        .filter_map(|c| match clip.token_ids(&c.text) {
            Ok(ids) if ids == c.ids => None,
            Ok(ids) => Some(format!("{:?}: {ids:?} != {:?}", c.text, c.ids)),
            Err(e) => Some(format!("{:?}: {e}", c.text)),
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:?}",
        mismatches.len(),
        mismatches.first()
    );
    Ok(())
}
