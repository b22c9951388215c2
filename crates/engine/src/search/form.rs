//! [`SearchForm`]: a search's page, order and filters as a person gives them (the API's query
//! string, the web UI's form) — dates as days, tags as a list — checked and turned into a
//! [`SearchRequest`].

use serde::{Deserialize, Serialize};
use shoebox_core::{FolderRef, Generated, RootId, SearchFilters, day_start};

use crate::input::one_line;
use crate::{Error, Result, SearchRequest, SortOrder};

/// Most hits per page.
const MAX_LIMIT: usize = 200;
/// Most tags a search may require.
const MAX_TAGS: usize = 16;
/// Longest tag, folder or camera filter, in bytes.
const MAX_FILTER: usize = 256;

fn invalid(why: String) -> Error {
    Error::Library(shoebox_core::Error::Invalid(why))
}

/// Which page of hits, in what order, narrowed how: the query string of every search and
/// look-alike route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct SearchForm {
    /// Hits per page, 1 to 200 (default 50).
    pub limit: Option<usize>,
    /// The previous page's `next`.
    pub cursor: Option<String>,
    /// `relevance` (default) or `date` (newest first).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub sort: SortOrder,
    /// Taken on or after this day (`YYYY-MM-DD`, UTC).
    pub since: Option<String>,
    /// Taken on or before this day (`YYYY-MM-DD`, UTC).
    pub until: Option<String>,
    /// Only photos under this library root (its id)…
    pub root: Option<i64>,
    /// …and in this folder of it or below (`/`-separated, relative to the root).
    pub folder: Option<String>,
    /// Only photos from a camera whose make and model contain these words.
    pub camera: Option<String>,
    /// Only photos carrying every one of these tags (comma-separated).
    pub tags: Option<String>,
    /// Each hit carries each source's rank and score.
    #[serde(default)]
    pub explain: bool,
    /// Photos Stable Diffusion made: `hidden` (the default), `included` or `only`.
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub generated: Option<Generated>,
}

impl SearchForm {
    /// The search for `query` this page asks for.
    pub fn request(self, query: String) -> Result<SearchRequest> {
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(invalid(format!("limit is 1 to {MAX_LIMIT}")));
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
                return Err(invalid("a folder needs its root".to_owned()));
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
            return Err(invalid(format!(
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
                generated: self.generated.unwrap_or_default(),
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
    fn a_page_query_becomes_the_search_it_names() -> Result<()> {
        let query = SearchForm {
            limit: Some(10),
            since: Some("2024-07-01".into()),
            until: Some("2024-07-31".into()),
            root: Some(2),
            folder: Some("/trips/2024/".into()),
            camera: Some(" pixel 8 ".into()),
            tags: Some("beach, dog".into()),
            explain: true,
            ..SearchForm::default()
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
            SearchForm {
                limit: Some(0),
                ..SearchForm::default()
            },
            SearchForm {
                since: Some("last tuesday".into()),
                ..SearchForm::default()
            },
            SearchForm {
                folder: Some("trips".into()),
                ..SearchForm::default()
            },
            SearchForm {
                tags: Some("a,,b".into()),
                ..SearchForm::default()
            },
            SearchForm {
                tags: Some(vec!["t"; 17].join(",")),
                ..SearchForm::default()
            },
        ];
        for query in bad {
            let shown = format!("{query:?}");
            assert!(query.request(String::new()).is_err(), "{shown}");
        }
    }
}
