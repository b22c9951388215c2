//! What a search is asked and what it answers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shoebox_core::{PhotoId, SearchFilters};

/// How hits are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Best match first.
    #[default]
    Relevance,
    /// Newest first (photos without a date last).
    Date,
}

/// A search.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The query as typed (`beach -people`, `2:dog + cat`); empty browses.
    pub query: String,
    /// Filters every source obeys.
    pub filters: SearchFilters,
    /// Order of the hits.
    pub sort: SortOrder,
    /// Hits per page.
    pub limit: usize,
    /// Where the previous page ended (its `next`).
    pub cursor: Option<String>,
    /// Whether each hit carries each source's rank and score.
    pub explain: bool,
}

/// One source's view of a hit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceScore {
    /// 1-based rank in that source.
    pub rank: usize,
    /// Cosine similarity (CLIP) or BM25 (text).
    pub score: f32,
}

/// Why a hit is where it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explain {
    /// The CLIP side, when it found the photo.
    pub clip: Option<SourceScore>,
    /// The text side, when it found the photo.
    pub text: Option<SourceScore>,
}

/// A found photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    /// The photo.
    pub photo: PhotoId,
    /// The fused score (0 when browsing).
    pub score: f32,
    /// When it was taken (Unix seconds), when known.
    pub taken: Option<i64>,
    /// Per-source scores, when asked for.
    pub explain: Option<Explain>,
}

/// One page of hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchPage {
    /// The hits on this page.
    pub hits: Vec<SearchHit>,
    /// Hits on all pages.
    pub total: usize,
    /// Cursor of the next page; `None` on the last.
    pub next: Option<String>,
}

/// The `[search]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// Candidates each source contributes before fusion.
    pub candidates: usize,
    /// Reciprocal rank fusion constant `k` in `w / (k + rank)`.
    pub rrf_k: f32,
    /// Weight of the CLIP ranking in the fusion.
    pub clip_weight: f32,
    /// Weight of the text (BM25) ranking in the fusion.
    pub text_weight: f32,
    /// CLIP hits below this cosine similarity are not shown, unless the model has its own.
    pub min_similarity: f32,
    /// Per-model cutoffs, by model id.
    pub model_min_similarity: HashMap<String, f32>,
}

impl SearchSettings {
    /// The cutoff for a model's vectors.
    pub fn min_similarity(&self, model_id: &str) -> f32 {
        self.model_min_similarity
            .get(model_id)
            .copied()
            .unwrap_or(self.min_similarity)
    }
}
