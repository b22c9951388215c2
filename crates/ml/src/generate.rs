//! Choosing tokens: how long a decode runs, greedy or sampled choice, and what it returns.

/// How long a decode runs and how it picks tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Generation {
    /// New tokens at most (the prompt not counted).
    pub max_new_tokens: usize,
    /// New tokens before the end token may be chosen.
    pub min_new_tokens: usize,
    /// Sampling instead of the most likely token (greedy) when set.
    pub sampling: Option<Sampling>,
}

impl Default for Generation {
    fn default() -> Self {
        Self {
            max_new_tokens: 30,
            min_new_tokens: 0,
            sampling: None,
        }
    }
}

/// Nucleus sampling: softmax at `temperature`, drawn from the smallest set of tokens whose
/// probabilities add up to `top_p`; the same seed gives the same text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Above 0; lower is closer to greedy.
    pub temperature: f32,
    /// In (0, 1].
    pub top_p: f32,
    /// Seed of the random draws.
    pub seed: u64,
}

/// A decode.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// BLIP: the start token, the prompt, and the new tokens; PaliGemma: the new tokens (with
    /// the end token when one was chosen).
    pub ids: Vec<u32>,
    /// Prompt and new tokens as text, special tokens left out.
    pub text: String,
    /// Each step's logits over the vocabulary, before the end token is masked.
    pub logits: Vec<Vec<f32>>,
}

/// Picks each step's token for a [`Generation`].
pub(crate) struct Chooser {
    generation: Generation,
    end: u32,
    state: u64,
}

impl Chooser {
    /// `end`: the token that stops the decode (masked for the first `min_new_tokens`).
    pub(crate) fn new(generation: Generation, end: u32) -> Self {
        let seed = generation.sampling.map_or(0, |s| s.seed);
        Self {
            generation,
            end,
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// The token for step `step` from its logits (which are changed: the end token masked).
    pub(crate) fn choose(&mut self, step: usize, logits: &mut [f32]) -> u32 {
        if step < self.generation.min_new_tokens
            && let Some(end) = logits.get_mut(self.end as usize)
        {
            *end = f32::NEG_INFINITY;
        }
        match self.generation.sampling {
            None => argmax(logits),
            Some(s) => {
                let draw = self.next_unit();
                sample(logits, s.temperature, s.top_p, draw)
            }
        }
    }

    /// A uniform draw in [0, 1) (SplitMix64).
    fn next_unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The index of the largest value (the first on ties, as `torch.argmax`).
fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    u32::try_from(best).unwrap_or(u32::MAX)
}

/// The token that `draw` (uniform in [0, 1)) picks from the nucleus of `logits`.
fn sample(logits: &[f32], temperature: f32, top_p: f32, draw: f64) -> u32 {
    let t = f64::from(temperature.max(1e-4));
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    let mut probs: Vec<(usize, f64)> = logits
        .iter()
        .enumerate()
        .map(|(i, v)| (i, (f64::from(v - max) / t).exp()))
        .filter(|(_, p)| *p > 0.0)
        .collect();
    let total: f64 = probs.iter().map(|(_, p)| p).sum();
    probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut kept = 0.0;
    let mut nucleus = Vec::new();
    for (i, p) in probs {
        nucleus.push((i, p));
        kept += p / total;
        if kept >= f64::from(top_p) {
            break;
        }
    }
    let mass: f64 = nucleus.iter().map(|(_, p)| p).sum();
    let mut target = draw * mass;
    for (i, p) in &nucleus {
        target -= p;
        if target < 0.0 {
            return u32::try_from(*i).unwrap_or(u32::MAX);
        }
    }
    nucleus
        .last()
        .map_or(0, |(i, _)| u32::try_from(*i).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_masks_the_end_token_until_the_minimum() {
        let mut c = Chooser::new(
            Generation {
                min_new_tokens: 1,
                ..Generation::default()
            },
            2,
        );
        assert_eq!(c.choose(0, &mut [0.0, 1.0, 5.0]), 1);
        assert_eq!(c.choose(1, &mut [0.0, 1.0, 5.0]), 2);
    }

    #[test]
    fn sampling_stays_in_the_nucleus_and_repeats_with_its_seed() {
        let logits = [3.0, 2.9, 0.0, -5.0];
        let sampling = Sampling {
            temperature: 1.0,
            top_p: 0.9,
            seed: 7,
        };
        let run = || {
            let mut c = Chooser::new(
                Generation {
                    sampling: Some(sampling),
                    ..Generation::default()
                },
                99,
            );
            (0..200)
                .map(|step| c.choose(step, &mut logits.clone()))
                .collect::<Vec<_>>()
        };
        let picks = run();
        assert_eq!(picks, run(), "same seed, same draws");
        // Tokens 0 and 1 hold 0.9 of the mass together; 2 and 3 are outside the nucleus.
        assert!(picks.iter().all(|&t| t < 2), "{picks:?}");
        assert!(
            picks.contains(&0) && picks.contains(&1),
            "both nucleus tokens come up"
        );
        // A tiny temperature is greedy.
        assert_eq!(sample(&logits, 1e-6, 1.0, 0.99), 0);
    }
}
