//! Random insert / replace / delete / search sequences against a plain map.

use std::collections::HashMap;

use proptest::prelude::*;
use shoebox_core::PhotoId;
use shoebox_testkit::normalised;
use shoebox_vector::{Filter, IndexParams, VectorIndex};

#[derive(Debug, Clone)]
enum Op {
    Insert(i64, Vec<f32>),
    Remove(i64),
    Compact,
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-1.0f32..1.0, 8)
        .prop_filter("not zero", |v| v.iter().any(|x| x.abs() > 0.1))
        .prop_map(normalised)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1i64..40, vector()).prop_map(|(id, v)| Op::Insert(id, v)),
        3 => (1i64..40).prop_map(Op::Remove),
        1 => Just(Op::Compact),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn deleted_ids_never_return_and_an_exact_match_is_found(
        ops in prop::collection::vec(op(), 1..60),
        graph in any::<bool>(),
    ) {
        let params = IndexParams { exact_below: if graph { 0 } else { 4096 }, ..IndexParams::default() };
        let mut index = VectorIndex::new("m", 8, params);
        let mut model: HashMap<i64, Vec<f32>> = HashMap::new();
        for op in ops {
            match op {
                Op::Insert(id, v) => {
                    index.insert(PhotoId(id), &v).expect("unit vector");
                    model.insert(id, v.clone());
                    // The photo just inserted is its own nearest neighbour.
                    let hits = index.search(&v, 1, Filter::All).expect("query");
                    prop_assert!(hits[0].score > 0.9999, "{hits:?}");
                    let best = model.get(&hits[0].photo.0).expect("live photo");
                    prop_assert!(best.iter().zip(&v).all(|(a, b)| (a - b).abs() < 1e-3));
                }
                Op::Remove(id) => {
                    prop_assert_eq!(index.remove(PhotoId(id)), model.remove(&id).is_some());
                }
                Op::Compact => index = index.compacted(),
            }
            prop_assert_eq!(index.len(), model.len());
            for v in model.values().take(3) {
                let hits = index.search(v, 40, Filter::All).expect("query");
                prop_assert_eq!(hits.len(), model.len());
                prop_assert!(hits.iter().all(|h| model.contains_key(&h.photo.0)));
            }
        }
    }
}
