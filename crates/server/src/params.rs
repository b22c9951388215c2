//! What requests carry, checked before anything is looked up: ids (never paths), one-line
//! names, page sizes, and a search's filters and order from the query string.

use std::sync::Arc;

use axum::extract::State;
use serde::Deserialize;
use shoebox_core::{FolderRef, PhotoId, RootId, SearchFilters, day_start};
use shoebox_engine::{SearchRequest, SortOrder};
use utoipa::IntoParams;

use crate::{ApiError, AppState};

/// The handlers' shared state.
pub(crate) type Shared = State<Arc<AppState>>;

/// Most hits per page.
const MAX_LIMIT: usize = 200;
/// Most tags a search may require.
const MAX_TAGS: usize = 16;
/// Longest tag, folder or camera filter, in bytes.
const MAX_FILTER: usize = 256;

/// `raw` trimmed, when it is 1 to `max` bytes without control characters: names, tags,
/// labels; `what` names it in the error ("a tag").
pub(crate) fn one_line<'a>(raw: &'a str, max: usize, what: &str) -> Result<&'a str, ApiError> {
    let text = raw.trim();
    if text.is_empty() || text.len() > max || text.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{what} is 1 to {max} bytes without control characters"
        )));
    }
    Ok(text)
}

/// A positive number from the path naming a `what`: never a path.
pub(crate) fn number(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("{raw:?} is not a {what} id")))
}

/// A photo id from the path.
pub(crate) fn photo_id(raw: &str) -> Result<PhotoId, ApiError> {
    number(raw, "photo").map(PhotoId)
}

/// Which page of hits, in what order, narrowed how: the query string of every search and
/// look-alike route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Hits per page, 1 to 200 (default 50).
    limit: Option<usize>,
    /// The previous page's `next`.
    cursor: Option<String>,
    /// `relevance` (default) or `date` (newest first).
    #[serde(default)]
    #[param(value_type = Option<String>)]
    sort: SortOrder,
    /// Taken on or after this day (`YYYY-MM-DD`, UTC).
    since: Option<String>,
    /// Taken on or before this day (`YYYY-MM-DD`, UTC).
    until: Option<String>,
    /// Only photos under this library root (its id)…
    root: Option<i64>,
    /// …and in this folder of it or below (`/`-separated, relative to the root).
    folder: Option<String>,
    /// Only photos from a camera whose make and model contain these words.
    camera: Option<String>,
    /// Only photos carrying every one of these tags (comma-separated).
    tags: Option<String>,
    /// Each hit carries each source's rank and score.
    #[serde(default)]
    explain: bool,
}

impl PageQuery {
    /// The search for `query` this page asks for.
    pub(crate) fn request(self, query: String) -> Result<SearchRequest, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::bad_request(format!("limit is 1 to {MAX_LIMIT}")));
        }
        let folders = match (self.root, self.folder) {
            (None, None) => Vec::new(),
            (Some(root), folder) => {
                let rel = match folder.as_deref().map(|f| f.trim_matches('/')) {
                    None | Some("") => String::new(),
                    Some(f) => one_line(f, MAX_FILTER, "a folder")?.to_owned(),
                };
                vec![FolderRef {
                    root: RootId(root),
                    rel,
                }]
            }
            (None, Some(_)) => {
                return Err(ApiError::bad_request("a folder needs its root"));
            }
        };
        let tags = match self.tags.as_deref() {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|t| one_line(t, MAX_FILTER, "a tag").map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?,
        };
        if tags.len() > MAX_TAGS {
            return Err(ApiError::bad_request(format!(
                "a search requires at most {MAX_TAGS} tags"
            )));
        }
        let camera = self
            .camera
            .as_deref()
            .map(|c| one_line(c, MAX_FILTER, "a camera").map(str::to_owned))
            .transpose()?;
        Ok(SearchRequest {
            query,
            filters: SearchFilters {
                since: self.since.as_deref().map(|d| day_start(d, 0)).transpose()?,
                until: self.until.as_deref().map(|d| day_start(d, 1)).transpose()?,
                folders,
                camera,
                tags,
                media: None,
            },
            sort: self.sort,
            limit,
            cursor: self.cursor,
            explain: self.explain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_query_becomes_the_search_it_names() -> Result<(), ApiError> {
        let query = PageQuery {
            limit: Some(10),
            since: Some("2024-07-01".into()),
            until: Some("2024-07-31".into()),
            root: Some(2),
            folder: Some("/trips/2024/".into()),
            camera: Some(" pixel 8 ".into()),
            tags: Some("beach, dog".into()),
            explain: true,
            ..PageQuery::default()
        };
        let request = query.request("sea -people".into())?;
        assert_eq!(request.query, "sea -people");
        assert_eq!(request.limit, 10);
        assert_eq!(request.filters.since, Some(1_719_792_000));
        assert_eq!(request.filters.until, Some(1_722_470_400));
        assert_eq!(
            request.filters.folders,
            [FolderRef {
                root: RootId(2),
                rel: "trips/2024".into()
            }]
        );
        assert_eq!(request.filters.camera.as_deref(), Some("pixel 8"));
        assert_eq!(request.filters.tags, ["beach", "dog"]);
        assert!(request.explain);
        Ok(())
    }

    #[test]
    fn bad_filters_are_refused() {
        let bad = [
            PageQuery {
                limit: Some(0),
                ..PageQuery::default()
            },
            PageQuery {
                since: Some("last tuesday".into()),
                ..PageQuery::default()
            },
            PageQuery {
                folder: Some("trips".into()),
                ..PageQuery::default()
            },
            PageQuery {
                tags: Some("a,,b".into()),
                ..PageQuery::default()
            },
            PageQuery {
                tags: Some(vec!["t"; 17].join(",")),
                ..PageQuery::default()
            },
        ];
        for query in bad {
            let shown = format!("{query:?}");
            assert!(query.request(String::new()).is_err(), "{shown}");
        }
    }
}
