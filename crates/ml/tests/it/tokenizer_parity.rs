//! Tokenizer parity with transformers' CLIP tokenizer on the real BPE vocabulary: 1,200
//! strings with unicode, emoji, odd whitespace, empty and very long ones (truncated to 77).

use serde::Deserialize;
use shoebox_ml::{Clip, Device};

use crate::clip_tiny;

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
}

#[test]
fn ids_match_the_reference_on_every_case() -> anyhow::Result<()> {
    let dir = clip_tiny();
    let clip = Clip::load(&dir, "clip-tiny", &Device::Cpu)?;
    let cases: Vec<Case> =
        serde_json::from_str(&fs_err::read_to_string(dir.join("tokenizer-cases.json"))?)?;
    assert!(cases.len() >= 1000);
    assert!(
        cases.iter().any(|c| c.ids.len() == 77),
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
