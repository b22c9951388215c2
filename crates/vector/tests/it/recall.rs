//! recall@10 against exact search on 20k CLIP-like vectors.

use std::collections::HashSet;

use shoebox_testkit::ClipLike;
use shoebox_vector::{Filter, VectorIndex};

use crate::{graph_only, ids, index_of};

#[test]
fn recall_at_10_is_at_least_098_on_20k_clip_like_vectors() {
    let data = ClipLike::new(512, 200, 1);
    let vectors = data.sample(20_000, 2);
    let queries = data.sample(200, 3);
    let mut index = index_of(&vectors, graph_only());
    let truth: Vec<HashSet<_>> = queries
        .iter()
        .map(|q| ids(&index.exact(q, 10, Filter::All)).into_iter().collect())
        .collect();
    let recall = |index: &VectorIndex| {
        let found: usize = queries
            .iter()
            .zip(&truth)
            .map(|(q, t)| {
                let got = ids(&index.search(q, 10, Filter::All).expect("query"));
                got.iter().filter(|id| t.contains(id)).count()
            })
            .sum();
        found as f64 / (10 * queries.len()) as f64
    };
    // Searchable as soon as the inserts return; prepare_search only gives capacity back.
    let before = recall(&index);
    index.prepare_search();
    let after = recall(&index);
    eprintln!("recall@10: {before:.4} (after prepare_search {after:.4})");
    assert!(before >= 0.98, "recall@10 = {before:.4}");
    assert_eq!(before, after);
}

#[test]
fn a_selective_filter_returns_only_allowed_photos_and_the_exact_best() {
    let data = ClipLike::new(64, 20, 4);
    let vectors = data.sample(3_000, 5);
    let mut index = index_of(&vectors, graph_only());
    index.prepare_search();
    let allowed: HashSet<_> = (1..=3_000).step_by(97).map(shoebox_core::PhotoId).collect();
    let query = &data.sample(1, 6)[0];
    let hits = index
        .search(query, 5, Filter::Only(&allowed))
        .expect("query");
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| allowed.contains(&h.photo)));
    assert_eq!(
        ids(&hits),
        ids(&index.exact(query, 5, Filter::Only(&allowed)))
    );
}

#[test]
fn an_exclusion_filter_leaves_those_photos_out_of_graph_and_exact_search() {
    let data = ClipLike::new(64, 20, 7);
    let vectors = data.sample(6_000, 8);
    let mut index = index_of(&vectors, graph_only());
    index.prepare_search();
    let query = &data.sample(1, 9)[0];
    let best: HashSet<_> = ids(&index.search(query, 20, Filter::All).expect("query"))
        .into_iter()
        .collect();
    let hits = index
        .search(query, 10, Filter::Except(&best))
        .expect("query");
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| !best.contains(&h.photo)));
    assert_eq!(
        ids(&hits),
        ids(&index.exact(query, 10, Filter::Except(&best)))
    );
}
