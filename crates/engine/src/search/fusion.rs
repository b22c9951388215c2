//! Weighted reciprocal rank fusion of the CLIP and text rankings.

use std::collections::HashMap;

use shoebox_core::PhotoId;

use super::request::{Explain, SearchSettings, SourceScore};

/// A photo with its fused score.
#[derive(Debug, Clone)]
pub(super) struct Ranked {
    pub(super) photo: PhotoId,
    pub(super) score: f32,
    pub(super) taken: Option<i64>,
    pub(super) explain: Explain,
}

/// `score(p) = Σ_source weight / (k + rank)`; each list is best first.
pub(super) fn fuse(
    settings: &SearchSettings,
    clip: Vec<(PhotoId, f32)>,
    text: Vec<(PhotoId, f32)>,
) -> Vec<Ranked> {
    let mut by_photo: HashMap<PhotoId, Ranked> = HashMap::new();
    let sources = [
        (clip, settings.clip_weight, true),
        (text, settings.text_weight, false),
    ];
    for (list, weight, is_clip) in sources {
        for (i, (photo, score)) in list.into_iter().enumerate() {
            let rank = i + 1;
            let entry = by_photo.entry(photo).or_insert_with(|| Ranked {
                photo,
                score: 0.0,
                taken: None,
                explain: Explain::default(),
            });
            entry.score += weight / (settings.rrf_k + rank as f32);
            let slot = if is_clip {
                &mut entry.explain.clip
            } else {
                &mut entry.explain.text
            };
            *slot = Some(SourceScore { rank, score });
        }
    }
    by_photo.into_values().collect()
}
