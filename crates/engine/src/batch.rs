//! [`TextBatcher`]: searches that arrive while the text tower is busy share its next forward
//! pass. On a CPU one query's pass is bound by reading the weights, so a batch of many costs
//! little more than one: under load, throughput grows with the queue instead of every query
//! waiting for all those ahead of it. A lone query runs at once, as before.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use shoebox_core::{Embedding, TextEmbedder};

/// Texts encoded in one pass at most.
const MAX_BATCH: usize = 32;

/// Texts waiting for the text tower, and the results not yet collected.
#[derive(Default)]
struct Queue {
    waiting: Vec<(u64, String)>,
    finished: HashMap<u64, Result<Embedding, String>>,
    /// A caller is running a batch.
    busy: bool,
    next: u64,
}

/// Gathers the texts of concurrent callers into shared passes of one model.
#[derive(Default)]
pub(crate) struct TextBatcher {
    queue: Mutex<Queue>,
    done: Condvar,
}

impl TextBatcher {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue is only ever changed whole under the lock.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `texts`' embeddings by `model`, in order — from the pass that was free first: the
    /// caller runs a batch itself when none is running (with whatever else waits), and
    /// otherwise waits for the one that takes its texts.
    pub(crate) fn embed(
        &self,
        model: &dyn TextEmbedder,
        texts: &[&str],
    ) -> shoebox_core::Result<Vec<Embedding>> {
        let mut queue = self.lock();
        let first = queue.next;
        queue.next += texts.len() as u64;
        let mine = first..queue.next;
        queue
            .waiting
            .extend(mine.clone().zip(texts.iter().map(|t| (*t).to_owned())));
        loop {
            if mine.clone().all(|t| queue.finished.contains_key(&t)) {
                return mine
                    .map(|t| {
                        queue
                            .finished
                            .remove(&t)
                            .unwrap_or_else(|| Err("lost".to_owned()))
                            .map_err(|why| shoebox_core::Error::backend("embedding a query", why))
                    })
                    .collect();
            }
            if queue.busy {
                queue = self
                    .done
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            queue.busy = true;
            let take = queue.waiting.len().min(MAX_BATCH);
            let batch: Vec<(u64, String)> = queue.waiting.drain(..take).collect();
            drop(queue);
            let refs: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
            // A panic in the model fails this batch's callers instead of leaving them waiting.
            let result = catch_unwind(AssertUnwindSafe(|| model.embed_texts(&refs)))
                .unwrap_or_else(|_| {
                    Err(shoebox_core::Error::Invalid(
                        "the text model panicked".to_owned(),
                    ))
                });
            queue = self.lock();
            queue.busy = false;
            match result {
                Ok(embeddings) if embeddings.len() == batch.len() => {
                    for ((ticket, _), embedding) in batch.iter().zip(embeddings) {
                        queue.finished.insert(*ticket, Ok(embedding));
                    }
                }
                other => {
                    let why = other.err().map_or_else(
                        || "wrong number of embeddings".to_owned(),
                        |e| e.to_string(),
                    );
                    for (ticket, _) in &batch {
                        queue.finished.insert(*ticket, Err(why.clone()));
                    }
                }
            }
            self.done.notify_all();
        }
    }
}

/// A model whose text queries go through a [`TextBatcher`].
pub(crate) struct Batched<'a> {
    pub(crate) model: &'a dyn TextEmbedder,
    pub(crate) batcher: &'a TextBatcher,
}

impl TextEmbedder for Batched<'_> {
    fn model_id(&self) -> &str {
        self.model.model_id()
    }

    fn embed_texts(&self, texts: &[&str]) -> shoebox_core::Result<Vec<Embedding>> {
        self.batcher.embed(self.model, texts)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    use super::*;

    /// Embeds a text as its length; counts passes and the largest batch; the first pass
    /// waits at a barrier so that others queue behind it.
    struct Lengths {
        passes: AtomicUsize,
        largest: AtomicUsize,
        hold: Barrier,
    }

    impl TextEmbedder for Lengths {
        fn model_id(&self) -> &str {
            "lengths"
        }

        fn embed_texts(&self, texts: &[&str]) -> shoebox_core::Result<Vec<Embedding>> {
            if self.passes.fetch_add(1, Ordering::SeqCst) == 0 {
                self.hold.wait();
            }
            self.largest.fetch_max(texts.len(), Ordering::SeqCst);
            if texts.contains(&"boom") {
                return Err(shoebox_core::Error::Invalid("boom".to_owned()));
            }
            Ok(texts
                .iter()
                .map(|t| Embedding {
                    model_id: "lengths".to_owned(),
                    vector: vec![t.len() as f32],
                })
                .collect())
        }
    }

    #[test]
    fn queries_that_wait_share_a_pass_and_each_gets_its_own_answers() {
        let model = Arc::new(Lengths {
            passes: AtomicUsize::new(0),
            largest: AtomicUsize::new(0),
            hold: Barrier::new(2),
        });
        let batcher = Arc::new(TextBatcher::default());
        let run = |texts: Vec<&'static str>| {
            let (model, batcher) = (Arc::clone(&model), Arc::clone(&batcher));
            std::thread::spawn(move || {
                batcher
                    .embed(model.as_ref(), &texts)
                    .map(|e| e.iter().map(|e| e.vector[0]).collect::<Vec<_>>())
            })
        };
        // The first caller's pass is held until eight more callers have queued behind it.
        let first = run(vec!["a"]);
        while model.passes.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let others: Vec<_> = (1..=8)
            .map(|i| run(vec![["bb", "ccc", "dddd"][i % 3], "eeeee"]))
            .collect();
        while batcher.lock().waiting.len() < 16 {
            std::thread::yield_now();
        }
        model.hold.wait();
        assert_eq!(first.join().ok().and_then(Result::ok), Some(vec![1.0]));
        for (i, other) in others.into_iter().enumerate() {
            let expected = vec![[2.0, 3.0, 4.0][(i + 1) % 3], 5.0];
            assert_eq!(other.join().ok().and_then(Result::ok), Some(expected));
        }
        assert_eq!(
            model.passes.load(Ordering::SeqCst),
            2,
            "one pass for the eight"
        );
        assert_eq!(model.largest.load(Ordering::SeqCst), 16);
        assert!(batcher.lock().finished.is_empty(), "every result collected");
    }

    #[test]
    fn a_failed_pass_fails_its_callers_and_the_next_pass_runs() {
        let model = Lengths {
            passes: AtomicUsize::new(1),
            largest: AtomicUsize::new(0),
            hold: Barrier::new(1),
        };
        let batcher = TextBatcher::default();
        assert!(batcher.embed(&model, &["boom"]).is_err());
        let ok = batcher.embed(&model, &["fine"]);
        assert_eq!(ok.ok().map(|e| e[0].vector.clone()), Some(vec![4.0]));
    }
}
