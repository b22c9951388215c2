//! [`SearchFilters`] as tantivy clauses.

use std::ops::Bound;

use shoebox_core::{Generated, MEDIA_GENERATED, SearchFilters};
use tantivy::Term;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Facet, IndexRecordOption};

use crate::schema::Fields;

/// One clause per filter set; every clause must hold.
pub(crate) fn clauses(
    filters: &SearchFilters,
    fields: &Fields,
    words: impl Fn(&str) -> Vec<String>,
) -> Vec<Box<dyn Query>> {
    let mut out: Vec<Box<dyn Query>> = Vec::new();
    if filters.since.is_some() || filters.until.is_some() {
        let bound = |v: Option<i64>, incl: bool| match v {
            None => Bound::Unbounded,
            Some(v) if incl => Bound::Included(Term::from_field_i64(fields.taken, v)),
            Some(v) => Bound::Excluded(Term::from_field_i64(fields.taken, v)),
        };
        out.push(Box::new(RangeQuery::new(
            bound(filters.since, true),
            bound(filters.until, false),
        )));
    }
    if !filters.folders.is_empty() {
        let any: Vec<(Occur, Box<dyn Query>)> = filters
            .folders
            .iter()
            .map(|f| {
                let facet = folder_facet(f.root.0, &f.rel);
                (Occur::Should, facet_query(fields.folder, &facet))
            })
            .collect();
        out.push(Box::new(BooleanQuery::new(any)));
    }
    if let Some(camera) = &filters.camera {
        let all: Vec<(Occur, Box<dyn Query>)> = words(camera)
            .into_iter()
            .map(|w| {
                (
                    Occur::Must,
                    term_query(Term::from_field_text(fields.camera, &w)),
                )
            })
            .collect();
        if !all.is_empty() {
            out.push(Box::new(BooleanQuery::new(all)));
        }
    }
    for tag in &filters.tags {
        out.push(facet_query(fields.tag_facet, &tag_facet(tag)));
    }
    if let Some(media) = &filters.media {
        out.push(term_query(Term::from_field_text(fields.media, media)));
    }
    if filters.generated == Generated::Only {
        out.push(generated(fields));
    }
    out
}

/// The photos Stable Diffusion made.
pub(crate) fn generated(fields: &Fields) -> Box<dyn Query> {
    term_query(Term::from_field_text(fields.media, MEDIA_GENERATED))
}

/// `/ROOT/a/b` for the folder `a/b` of root `ROOT`; matches the folder and everything below.
pub(crate) fn folder_facet(root: i64, rel: &str) -> Facet {
    let root = root.to_string();
    Facet::from_path(std::iter::once(root.as_str()).chain(rel.split('/').filter(|p| !p.is_empty())))
}

pub(crate) fn tag_facet(tag: &str) -> Facet {
    Facet::from_path([tag.to_lowercase()])
}

fn facet_query(field: tantivy::schema::Field, facet: &Facet) -> Box<dyn Query> {
    term_query(Term::from_facet(field, facet))
}

fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}
