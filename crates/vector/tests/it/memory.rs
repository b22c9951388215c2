//! What the index holds per vector: the f32 vector, its int8 code, the photo id, map entry and
//! live flag, and the graph's rows — nothing else.

use shoebox_core::PhotoId;
use shoebox_testkit::ClipLike;
use shoebox_vector::{IndexParams, VectorIndex};

#[test]
fn heap_bytes_at_20k_clip_like_vectors_stay_within_the_per_vector_budget() {
    const DIM: usize = 512;
    const N: usize = 20_000;
    let params = IndexParams::default();
    let vectors = ClipLike::new(DIM, 200, 61).sample(N, 62);
    let mut index = VectorIndex::new("m", DIM, params);
    // In batches, as the engine inserts them, then the capacity they left is given back.
    for (c, chunk) in vectors.chunks(1_000).enumerate() {
        let items: Vec<(PhotoId, &[f32])> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| (PhotoId((c * 1_000 + i) as i64), v.as_slice()))
            .collect();
        index.insert_batch(&items).expect("unit vectors");
    }
    let grown = index.heap_bytes() as f64 / N as f64;
    index.prepare_search();
    let per_vector = index.heap_bytes() as f64 / N as f64;

    let m = params.max_connections;
    let budget = 4 * DIM // the f32 vector
        + DIM // its int8 code
        + 8 + 1 // photo id, live flag
        + 40 // photo → slot map entry (16 bytes + control byte, buckets a power of two)
        + 4 * (2 * m + 1) + 1 + 4 // layer-0 row, level, upper-row index
        + 4 * (m + 1) / 8 // upper rows (1 node in M is above layer 0: an eighth is ample)
        + 1; // changed bit, rounded up
    eprintln!(
        "heap bytes per vector: {per_vector:.0} ({grown:.0} before prepare_search), budget {budget}"
    );
    assert!(per_vector >= (5 * DIM) as f64, "{per_vector}");
    assert!(per_vector <= budget as f64, "{per_vector} > {budget}");
    // Growth leaves at most an eighth spare.
    assert!(grown <= per_vector * 1.13, "{grown} vs {per_vector}");
    // At 1M vectors that is under 3 GiB.
    assert!(per_vector * 1e6 < 3.0 * (1u64 << 30) as f64);
}
