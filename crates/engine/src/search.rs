//! The search service: one query string → CLIP text embedding → HNSW top-k, plus BM25 over the
//! text index, fused by weighted reciprocal rank fusion, filtered, cut off, sorted, paged.
//!
//! A pure function of the two indices, a text embedder and the settings, so it is tested on a
//! hand-made corpus with a test double for the embedder.

mod cursor;
mod form;
mod fusion;
mod request;

use std::collections::HashMap;

use shoebox_core::{Embedding, Generated, ParsedQuery, PhotoId, TextEmbedder};
use shoebox_text::TextIndex;
use shoebox_vector::{Filter, VectorIndex};

pub use form::SearchForm;
pub use request::{
    Explain, SearchHit, SearchPage, SearchRequest, SearchSettings, SortOrder, SourceScore,
};

use crate::{Error, Result};
use cursor::Cursor;
use fusion::{Ranked, fuse};

/// The two derived indices a search reads.
#[derive(Debug)]
pub struct SearchIndices {
    /// CLIP image vectors of the current model.
    pub vector: VectorIndex,
    /// Captions, tags, path words, EXIF text; and the filter fields.
    pub text: TextIndex,
}

/// Runs a text query (empty: browse by date under the filters).
pub fn search(
    indices: &SearchIndices,
    embedder: &dyn TextEmbedder,
    settings: &SearchSettings,
    request: &SearchRequest,
) -> Result<SearchPage> {
    let vector = request_vector(embedder, request)?;
    search_with(indices, settings, request, vector.as_deref())
}

/// The query's CLIP vector (the text tower's work, done before any index is read); `None`
/// for a query without terms to include (a browse).
pub(crate) fn request_vector(
    embedder: &dyn TextEmbedder,
    request: &SearchRequest,
) -> Result<Option<Vec<f32>>> {
    let query = ParsedQuery::parse(&request.query)?;
    if query.include.is_empty() {
        return Ok(None);
    }
    query_vector(embedder, &query).map(Some)
}

/// [`search`] with the query's vector from [`request_vector`].
pub(crate) fn search_with(
    indices: &SearchIndices,
    settings: &SearchSettings,
    request: &SearchRequest,
    vector: Option<&[f32]>,
) -> Result<SearchPage> {
    let query = ParsedQuery::parse(&request.query)?;
    let Some(vector) = vector.filter(|_| !query.include.is_empty()) else {
        return browse(indices, request, &query);
    };
    let clip = vector_hits(indices, settings, request, &query, vector)?;
    let text = indices
        .text
        .search(
            &query.include,
            &query.exclude,
            &request.filters,
            settings.candidates,
        )
        .map_err(Error::Text)?
        .into_iter()
        .map(|h| (h.photo, h.score))
        .collect();
    let fused = fuse(settings, clip, text);
    finish(indices, request, fused)
}

/// Photos that look like `vector` (a photo's own, or an uploaded image's), `skip` left out.
pub fn similar(
    indices: &SearchIndices,
    settings: &SearchSettings,
    request: &SearchRequest,
    vector: &[f32],
    skip: Option<PhotoId>,
) -> Result<SearchPage> {
    let query = ParsedQuery::parse(&request.query)?;
    let mut clip = vector_hits(indices, settings, request, &query, vector)?;
    clip.retain(|(photo, _)| Some(*photo) != skip);
    let fused = fuse(settings, clip, Vec::new());
    finish(indices, request, fused)
}

/// Σ wᵢ·e(includeᵢ) − Σ wⱼ·e(excludeⱼ), normalised (rclip's arithmetic).
fn query_vector(embedder: &dyn TextEmbedder, query: &ParsedQuery) -> Result<Vec<f32>> {
    let texts: Vec<&str> = query
        .include
        .iter()
        .chain(&query.exclude)
        .map(|t| t.text.as_str())
        .collect();
    let embeddings: Vec<Embedding> = embedder.embed_texts(&texts)?;
    let signs = query
        .include
        .iter()
        .map(|t| t.weight)
        .chain(query.exclude.iter().map(|t| -t.weight));
    let dim = embeddings.first().map_or(0, Embedding::dim);
    let mut sum = vec![0.0f32; dim];
    for (embedding, weight) in embeddings.iter().zip(signs) {
        for (s, v) in sum.iter_mut().zip(&embedding.vector) {
            *s += weight * v;
        }
    }
    let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm.is_nan() || norm <= 1e-6 {
        return Err(shoebox_core::Error::Invalid(
            "the query's terms cancel out; drop an excluded term".to_owned(),
        )
        .into());
    }
    Ok(sum.into_iter().map(|v| v / norm).collect())
}

/// Vector hits under the filters (and the text side's exclusions), above the cutoff.
fn vector_hits(
    indices: &SearchIndices,
    settings: &SearchSettings,
    request: &SearchRequest,
    query: &ParsedQuery,
    vector: &[f32],
) -> Result<Vec<(PhotoId, f32)>> {
    // Without filters, exclusions are few photos to leave out; with filters, the photos
    // that pass them are the smaller set to keep.
    let (allowed, excluded) = if request.filters.is_empty() {
        let excluded = indices
            .text
            .excluded(&query.exclude, request.filters.generated)
            .map_err(Error::Text)?;
        (None, excluded)
    } else {
        let allowed = indices
            .text
            .allowed(&query.exclude, &request.filters)
            .map_err(Error::Text)?;
        (allowed, Default::default())
    };
    let filter = match &allowed {
        Some(ids) => Filter::Only(ids),
        None if excluded.is_empty() => Filter::All,
        None => Filter::Except(&excluded),
    };
    let cutoff = settings.min_similarity(indices.vector.model_id());
    Ok(indices
        .vector
        .search(vector, settings.candidates, filter)
        .map_err(Error::Vector)?
        .into_iter()
        .filter(|h| h.score >= cutoff)
        .map(|h| (h.photo, h.score))
        .collect())
}

/// Every photo under the filters and without the excluded terms, newest first.
fn browse(
    indices: &SearchIndices,
    request: &SearchRequest,
    query: &ParsedQuery,
) -> Result<SearchPage> {
    let mut photos = indices.text.photos(&request.filters).map_err(Error::Text)?;
    // (The filters already left generated photos out where they are hidden.)
    let excluded = indices
        .text
        .excluded(&query.exclude, Generated::Included)
        .map_err(Error::Text)?;
    photos.retain(|(photo, _)| !excluded.contains(photo));
    let ranked = photos
        .into_iter()
        .map(|(photo, taken)| Ranked {
            photo,
            score: 0.0,
            taken,
            explain: Explain::default(),
        })
        .collect();
    page(request, ranked, SortOrder::Date)
}

fn finish(
    indices: &SearchIndices,
    request: &SearchRequest,
    mut fused: Vec<Ranked>,
) -> Result<SearchPage> {
    let ids: Vec<PhotoId> = fused.iter().map(|r| r.photo).collect();
    let dates: HashMap<PhotoId, i64> = indices.text.dates(&ids).map_err(Error::Text)?;
    for r in &mut fused {
        r.taken = dates.get(&r.photo).copied();
    }
    page(request, fused, request.sort)
}

fn page(request: &SearchRequest, mut ranked: Vec<Ranked>, sort: SortOrder) -> Result<SearchPage> {
    ranked.sort_by(|a, b| Cursor::of(sort, a).cmp(&Cursor::of(sort, b)));
    let total = ranked.len();
    let start = match &request.cursor {
        None => 0,
        Some(text) => {
            let after = Cursor::parse(text, sort)?;
            ranked.partition_point(|r| Cursor::of(sort, r) <= after)
        }
    };
    let limit = request.limit.max(1);
    let rest = &ranked[start.min(total)..];
    let hits: Vec<SearchHit> = rest
        .iter()
        .take(limit)
        .map(|r| SearchHit {
            photo: r.photo,
            score: r.score,
            taken: r.taken,
            explain: request.explain.then(|| r.explain.clone()),
        })
        .collect();
    let next = (rest.len() > limit)
        .then(|| rest.get(limit - 1).map(|r| Cursor::of(sort, r).to_string()))
        .flatten();
    Ok(SearchPage { hits, total, next })
}
