//! The search service on a hand-made corpus whose right answers are known.
//!
//! The text embedder is a test double: each known word is one axis, a text is the normalised
//! sum of its words' axes. Photos get vectors built from the same axes, so every cosine
//! similarity below is known exactly.

use std::collections::HashMap;

use shoebox_core::{Embedding, FolderRef, PhotoId, RootId, SearchFilters, TextEmbedder};
use shoebox_engine::{SearchIndices, SearchRequest, SearchSettings, SortOrder, search, similar};
use shoebox_text::{Caption, TextDoc, TextIndex};
use shoebox_vector::{IndexParams, VectorIndex};

const AXES: [&str; 8] = [
    "beach", "dog", "people", "cat", "snow", "city", "sunset", "car",
];
const DAY: i64 = 86_400;

struct AxisEmbedder;

fn axes(words: &[&str]) -> Vec<f32> {
    let mut v = vec![0.0f32; AXES.len()];
    for w in words {
        if let Some(i) = AXES.iter().position(|a| a == w) {
            v[i] += 1.0;
        }
    }
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    v.iter().map(|x| x / n).collect()
}

impl TextEmbedder for AxisEmbedder {
    fn model_id(&self) -> &str {
        "axes"
    }

    fn embed_texts(&self, texts: &[&str]) -> shoebox_core::Result<Vec<Embedding>> {
        Ok(texts
            .iter()
            .map(|t| Embedding {
                model_id: "axes".to_owned(),
                vector: axes(&t.split_whitespace().collect::<Vec<_>>()),
            })
            .collect())
    }
}

/// id, concepts in the image, path, caption, tags, day taken.
type Entry = (
    i64,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static [&'static str],
    i64,
);

const CORPUS: [Entry; 6] = [
    (
        1,
        &["beach", "people"],
        "2023/coast/IMG_1.jpg",
        "people at the seaside",
        &[],
        10,
    ),
    (
        2,
        &["beach", "dog"],
        "2023/coast/IMG_2.jpg",
        "a dog on the sand",
        &["dog"],
        20,
    ),
    (
        3,
        &["beach"],
        "2023/coast/IMG_3.jpg",
        "an empty beach at dawn",
        &[],
        30,
    ),
    (
        4,
        &["dog", "snow"],
        "2024/alps/IMG_4.jpg",
        "husky in deep snow",
        &["dog"],
        40,
    ),
    (
        5,
        &["city", "car"],
        "2024/beach_trip/IMG_5.jpg",
        "traffic at night",
        &[],
        50,
    ),
    (
        6,
        &["cat"],
        "2024/home/IMG_6.jpg",
        "sleeping on the sofa",
        &["cat"],
        60,
    ),
];

fn indices() -> anyhow::Result<SearchIndices> {
    let mut vector = VectorIndex::new("axes", AXES.len(), IndexParams::default());
    let text = TextIndex::in_memory()?;
    for (id, concepts, path, caption, tags, day) in CORPUS {
        vector.insert(PhotoId(id), &axes(concepts))?;
        text.upsert(&TextDoc {
            photo: PhotoId(id),
            root: 1,
            rel_path: path.to_owned(),
            captions: vec![Caption {
                lang: "en".to_owned(),
                text: caption.to_owned(),
            }],
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            camera: None,
            lens: None,
            taken: Some(day * DAY),
            media: "photo".to_owned(),
        })?;
    }
    text.commit("test")?;
    Ok(SearchIndices { vector, text })
}

fn settings() -> SearchSettings {
    SearchSettings {
        candidates: 50,
        rrf_k: 60.0,
        clip_weight: 1.0,
        text_weight: 1.0,
        min_similarity: 0.2,
        model_min_similarity: HashMap::new(),
    }
}

fn request(query: &str) -> SearchRequest {
    SearchRequest {
        query: query.to_owned(),
        limit: 20,
        ..SearchRequest::default()
    }
}

fn run(indices: &SearchIndices, request: &SearchRequest) -> Vec<i64> {
    search(indices, &AxisEmbedder, &settings(), request)
        .expect("search")
        .hits
        .iter()
        .map(|h| h.photo.0)
        .collect()
}

#[test]
fn fusion_ranks_photos_both_sources_agree_on_first_and_explains_each() -> anyhow::Result<()> {
    let indices = indices()?;
    let page = search(
        &indices,
        &AxisEmbedder,
        &settings(),
        &SearchRequest {
            explain: true,
            ..request("beach")
        },
    )?;
    let ids: Vec<i64> = page.hits.iter().map(|h| h.photo.0).collect();
    // CLIP ranks 3 (cos 1), 1, 2 (cos 0.71, tie broken by id); text ranks 3 (caption), 5
    // (folder "beach_trip"). RRF: 3 = 2/61, 1 = 1/62, 5 = 1/62, 2 = 1/63.
    assert_eq!(ids, [3, 1, 5, 2]);
    let explain = |i: usize| page.hits[i].explain.clone().expect("explain asked for");
    let top = explain(0);
    assert_eq!(
        (top.clip.map(|s| s.rank), top.text.map(|s| s.rank)),
        (Some(1), Some(1))
    );
    assert!((top.clip.map_or(0.0, |s| s.score) - 1.0).abs() < 1e-5);
    assert!(explain(1).text.is_none() && explain(2).clip.is_none());
    assert!(
        run(&indices, &request("beach"))
            .iter()
            .all(|id| *id != 4 && *id != 6),
        "cut off"
    );
    Ok(())
}

#[test]
fn negative_terms_exclude_and_weights_reorder() -> anyhow::Result<()> {
    let indices = indices()?;
    // beach − people: photo 1's cosine drops to 0 and its caption says "people".
    assert_eq!(run(&indices, &request("beach -people")), [3, 2, 5]);
    assert_eq!(run(&indices, &request("2:dog + cat"))[0], 2);
    assert_eq!(run(&indices, &request("dog + 2:cat"))[0], 6);
    Ok(())
}

#[test]
fn weak_matches_are_not_hits() -> anyhow::Result<()> {
    let indices = indices()?;
    let page = search(&indices, &AxisEmbedder, &settings(), &request("sunset"))?;
    assert_eq!((page.hits.len(), page.total, page.next), (0, 0, None));
    Ok(())
}

#[test]
fn filters_apply_to_both_sources() -> anyhow::Result<()> {
    let indices = indices()?;
    let dated = SearchFilters {
        since: Some(15 * DAY),
        until: Some(35 * DAY),
        ..SearchFilters::default()
    };
    assert_eq!(
        run(
            &indices,
            &SearchRequest {
                filters: dated,
                ..request("beach")
            }
        ),
        [3, 2]
    );
    let folder = SearchFilters {
        folders: vec![FolderRef {
            root: RootId(1),
            rel: "2024".to_owned(),
        }],
        ..SearchFilters::default()
    };
    assert_eq!(
        run(
            &indices,
            &SearchRequest {
                filters: folder,
                ..request("beach")
            }
        ),
        [5]
    );
    let tagged = SearchFilters {
        tags: vec!["dog".to_owned()],
        ..SearchFilters::default()
    };
    assert_eq!(
        run(
            &indices,
            &SearchRequest {
                filters: tagged,
                ..request("beach")
            }
        ),
        [2]
    );
    Ok(())
}

#[test]
fn date_sort_browse_and_stable_pages() -> anyhow::Result<()> {
    let indices = indices()?;
    let by_date = SearchRequest {
        sort: SortOrder::Date,
        ..request("beach")
    };
    assert_eq!(run(&indices, &by_date), [5, 3, 2, 1]);
    assert_eq!(run(&indices, &request("")), [6, 5, 4, 3, 2, 1]);
    assert_eq!(
        run(&indices, &request("-dog")),
        [6, 5, 3, 1],
        "browse minus a word"
    );

    for sort in [SortOrder::Relevance, SortOrder::Date] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let req = SearchRequest {
                sort,
                limit: 3,
                cursor: cursor.clone(),
                ..request("beach + dog")
            };
            let page = search(&indices, &AxisEmbedder, &settings(), &req)?;
            seen.extend(page.hits.iter().map(|h| h.photo.0));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let all = run(
            &indices,
            &SearchRequest {
                sort,
                ..request("beach + dog")
            },
        );
        assert_eq!(seen, all, "{sort:?}: pages joined give the one-page list");
        assert!(all.len() > 3, "the corpus spans more than one page");
    }
    let bad = SearchRequest {
        cursor: Some("zz".to_owned()),
        ..request("beach")
    };
    assert!(search(&indices, &AxisEmbedder, &settings(), &bad).is_err());
    Ok(())
}

#[test]
fn similar_photos_by_vector_leave_the_photo_out() -> anyhow::Result<()> {
    let indices = indices()?;
    let vector = indices.vector.vector(PhotoId(2)).expect("photo 2").to_vec();
    let page = similar(
        &indices,
        &settings(),
        &request(""),
        &vector,
        Some(PhotoId(2)),
    )?;
    let ids: Vec<i64> = page.hits.iter().map(|h| h.photo.0).collect();
    assert_eq!(
        ids,
        [3, 1, 4],
        "cos 0.71, 0.5, 0.5; photos 5 and 6 are orthogonal"
    );
    Ok(())
}
