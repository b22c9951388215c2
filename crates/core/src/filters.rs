//! [`SearchFilters`]: what narrows a search, whatever the query.

use serde::{Deserialize, Serialize};

use time::Date;
use time::macros::format_description;

use crate::{Error, Result, RootId};

/// A folder inside a library root; an empty `rel` is the whole root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderRef {
    /// The root.
    pub root: RootId,
    /// Folder relative to the root, `/`-separated, no leading or trailing `/`.
    pub rel: String,
}

/// Filters applied to every source of a search (all must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchFilters {
    /// Taken at or after (Unix seconds).
    pub since: Option<i64>,
    /// Taken before (Unix seconds).
    pub until: Option<i64>,
    /// In any of these folders (or below them).
    pub folders: Vec<FolderRef>,
    /// Camera make / model contains all these words (case-insensitive).
    pub camera: Option<String>,
    /// Carries every one of these tags.
    pub tags: Vec<String>,
    /// Media type (`photo`, or [`MEDIA_GENERATED`]).
    pub media: Option<String>,
    /// Whether photos Stable Diffusion made take part (by default they do not).
    #[serde(default)]
    pub generated: Generated,
}

/// The media type of photos Stable Diffusion made ("more like this"), in the text index.
pub const MEDIA_GENERATED: &str = "generated";

/// Whether a search shows photos Stable Diffusion made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Generated {
    /// Leaves them out (the default).
    #[default]
    Hidden,
    /// Shows them with the others.
    Included,
    /// Shows only them.
    Only,
}

impl SearchFilters {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Unix seconds at 00:00 UTC of `day` (`YYYY-MM-DD`) plus `plus_days`: `since` is the start of
/// its day, `until` the start of the day after.
pub fn day_start(day: &str, plus_days: i64) -> Result<i64> {
    let date = Date::parse(day, format_description!("[year]-[month]-[day]"))
        .map_err(|_| Error::Invalid(format!("{day:?} is not a date like 2024-07-31")))?;
    Ok(date.midnight().assume_utc().unix_timestamp() + plus_days * 86_400)
}
