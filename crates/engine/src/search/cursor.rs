//! Keyset cursors: a page continues strictly after the last hit of the previous one, so pages
//! never repeat or skip a hit while the order holds.

use std::cmp::Ordering;
use std::fmt;

use shoebox_core::PhotoId;

use super::fusion::Ranked;
use super::request::SortOrder;
use crate::Result;

/// A position in a sorted hit list; smaller comes first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Cursor {
    /// Relevance order: higher score first, then lower id.
    Score(f32, PhotoId),
    /// Date order: newer first, undated last, then lower id.
    Date(Option<i64>, PhotoId),
}

impl Cursor {
    pub(super) fn of(sort: SortOrder, r: &Ranked) -> Self {
        match sort {
            SortOrder::Relevance => Self::Score(r.score, r.photo),
            SortOrder::Date => Self::Date(r.taken, r.photo),
        }
    }

    pub(super) fn parse(text: &str, sort: SortOrder) -> Result<Self> {
        let bad = || shoebox_core::Error::Invalid(format!("bad cursor {text:?}"));
        let (kind, rest) = text.split_at_checked(1).ok_or_else(bad)?;
        let (key, id) = rest.split_once('.').ok_or_else(bad)?;
        let id = PhotoId(id.parse().map_err(|_| bad())?);
        let cursor = match (kind, sort) {
            ("r", SortOrder::Relevance) => Self::Score(
                f32::from_bits(u32::from_str_radix(key, 16).map_err(|_| bad())?),
                id,
            ),
            ("d", SortOrder::Date) if key == "-" => Self::Date(None, id),
            ("d", SortOrder::Date) => Self::Date(Some(key.parse().map_err(|_| bad())?), id),
            _ => return Err(bad().into()),
        };
        Ok(cursor)
    }
}

impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(match (self, other) {
            (Self::Score(a, p), Self::Score(b, q)) => b.total_cmp(a).then(p.cmp(q)),
            (Self::Date(a, p), Self::Date(b, q)) => match (a, b) {
                (Some(a), Some(b)) => b.cmp(a),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
            .then(p.cmp(q)),
            _ => return None,
        })
    }
}

impl Cursor {
    pub(super) fn cmp(&self, other: &Self) -> Ordering {
        self.partial_cmp(other).unwrap_or(Ordering::Equal)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Score(score, id) => write!(f, "r{:08x}.{id}", score.to_bits()),
            Self::Date(Some(t), id) => write!(f, "d{t}.{id}"),
            Self::Date(None, id) => write!(f, "d-.{id}"),
        }
    }
}
