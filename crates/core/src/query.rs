//! Search queries as a person types them: `beach -people`, `2:dog + cat`, `red car - 0.5:sky`.
//!
//! A query is a list of terms joined by `+` (add) and `-` (subtract), as in rclip. A term may
//! start with a weight, `W:`. A `-` or `+` counts as an operator only at the start of a word,
//! so `t-shirt` stays one word. Without operators the whole text is one term, so a sentence
//! is embedded as a sentence.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 1024;

/// One part of a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryTerm {
    /// The words, trimmed.
    pub text: String,
    /// How much it counts, > 0.
    pub weight: f32,
}

/// A parsed query: what to look for and what to keep out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedQuery {
    /// Terms to match.
    pub include: Vec<QueryTerm>,
    /// Terms whose matches are pushed down (CLIP) and excluded (text).
    pub exclude: Vec<QueryTerm>,
}

impl ParsedQuery {
    /// Parses a query string; an empty string gives an empty query (browse everything).
    pub fn parse(input: &str) -> Result<Self> {
        if input.len() > MAX_QUERY_BYTES {
            return Err(Error::Invalid(format!(
                "query is {} bytes; the limit is {MAX_QUERY_BYTES}",
                input.len()
            )));
        }
        let mut query = Self::default();
        for (negative, raw) in split_terms(input) {
            let (weight, text) = split_weight(raw)?;
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.is_empty() {
                continue;
            }
            let term = QueryTerm { text, weight };
            if negative {
                query.exclude.push(term);
            } else {
                query.include.push(term);
            }
        }
        Ok(query)
    }

    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}

/// Splits at `+` / `-` that start a word; yields (negative, text).
fn split_terms(input: &str) -> Vec<(bool, &str)> {
    let mut terms = Vec::new();
    let mut negative = false;
    let mut start = 0;
    let mut previous = ' ';
    for (i, c) in input.char_indices() {
        if (c == '+' || c == '-') && previous.is_whitespace() {
            terms.push((negative, &input[start..i]));
            negative = c == '-';
            start = i + c.len_utf8();
        }
        previous = c;
    }
    terms.push((negative, &input[start..]));
    terms
}

/// `2:dog` → (2.0, "dog"); a prefix that is not a number is part of the text (`note: x`).
fn split_weight(raw: &str) -> Result<(f32, &str)> {
    let trimmed = raw.trim();
    if let Some((head, rest)) = trimmed.split_once(':')
        && let Ok(weight) = head.trim().parse::<f32>()
    {
        if !(weight.is_finite() && weight > 0.0 && weight <= 100.0) {
            return Err(Error::Invalid(format!(
                "weight {head} in {trimmed:?} must be a number in (0, 100]"
            )));
        }
        return Ok((weight, rest));
    }
    Ok((1.0, trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(list: &[QueryTerm]) -> Vec<(&str, f32)> {
        list.iter().map(|t| (t.text.as_str(), t.weight)).collect()
    }

    #[test]
    fn operators_weights_and_plain_sentences() {
        let q = ParsedQuery::parse("beach -people").unwrap();
        assert_eq!(terms(&q.include), [("beach", 1.0)]);
        assert_eq!(terms(&q.exclude), [("people", 1.0)]);

        let q = ParsedQuery::parse("2:dog + cat").unwrap();
        assert_eq!(terms(&q.include), [("dog", 2.0), ("cat", 1.0)]);

        let q = ParsedQuery::parse("a red t-shirt  on a  line - 0.5:blue sky").unwrap();
        assert_eq!(terms(&q.include), [("a red t-shirt on a line", 1.0)]);
        assert_eq!(terms(&q.exclude), [("blue sky", 0.5)]);

        let q = ParsedQuery::parse("note: 10:30 meeting").unwrap();
        assert_eq!(terms(&q.include), [("note: 10:30 meeting", 1.0)]);

        assert!(ParsedQuery::parse("  ").unwrap().is_empty());
        assert!(ParsedQuery::parse("-").unwrap().is_empty());
    }

    #[test]
    fn bad_weights_and_huge_queries_are_refused() {
        for bad in ["0:dog", "1e9:dog", "NaN:dog", "inf:dog", "cat - 0:dog"] {
            assert!(ParsedQuery::parse(bad).is_err(), "{bad}");
        }
        assert!(ParsedQuery::parse(&"x".repeat(MAX_QUERY_BYTES + 1)).is_err());
    }
}
