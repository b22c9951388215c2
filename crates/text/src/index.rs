//! [`TextIndex`]: writes, commits tied to the store's watermark, BM25 search, filter sets.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use shoebox_core::{Generated, PhotoId, QueryTerm, SearchFilters};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, QueryParser, TermSetQuery};
use tantivy::schema::{Facet, Field};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::filters::{clauses, folder_facet, generated, tag_facet};
use crate::schema::{self, Fields};
use crate::{Error, Result, TextDoc};

/// Indexing memory budget: small, photos' text is short.
const WRITER_BUDGET: usize = 32 * 1024 * 1024;

/// A photo and its BM25 score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextHit {
    /// The photo.
    pub photo: PhotoId,
    /// BM25 score (> 0).
    pub score: f32,
}

/// The text index of one library. Writes and commits take `&self`: the writer has a lock of
/// its own, and searches read the last committed state until a commit reloads the reader (an
/// atomic swap in tantivy), so a search never waits for a write, a commit or a rebuild.
pub struct TextIndex {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("path", &self.path)
            .finish()
    }
}

impl TextIndex {
    /// Opens the index in `dir`, creating it when empty. An index written with another schema
    /// or damaged is an error: the caller deletes the folder and rebuilds.
    pub fn open(dir: &Path) -> Result<Self> {
        fs_err::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let wrap = tantivy_error(dir);
        let (schema, fields) = schema::build();
        let directory = MmapDirectory::open(dir).map_err(|e| wrap(e.into()))?;
        let index = Index::open_or_create(directory, schema).map_err(&wrap)?;
        Self::with_index(dir.to_owned(), index, fields)
    }

    /// An index in memory, for tests and throwaway use.
    pub fn in_memory() -> Result<Self> {
        let (schema, fields) = schema::build();
        Self::with_index(
            PathBuf::from("memory"),
            Index::create_in_ram(schema),
            fields,
        )
    }

    fn with_index(path: PathBuf, index: Index, fields: Fields) -> Result<Self> {
        schema::register_tokenizers(&index);
        let (writer, reader) = {
            let wrap = tantivy_error(&path);
            let writer = index
                .writer_with_num_threads(1, WRITER_BUDGET)
                .map_err(&wrap)?;
            let reader = index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
                .map_err(&wrap)?;
            (writer, reader)
        };
        Ok(Self {
            path,
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    /// The writer (a panic while it was held left it as tantivy left it: usable).
    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds or replaces a photo's document (visible after [`Self::commit`]).
    pub fn upsert(&self, doc: &TextDoc) -> Result<()> {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_i64(f.photo, doc.photo.0);
        d.add_i64(f.root, doc.root);
        d.add_text(f.path, doc.path_words());
        let folder = doc.rel_path.rsplit_once('/').map_or("", |(dir, _)| dir);
        d.add_facet(f.folder, folder_facet(doc.root, folder));
        for caption in &doc.captions {
            let field = f
                .caption(&caption.lang)
                .ok_or_else(|| Error::Language(caption.lang.clone()))?;
            d.add_text(field, &caption.text);
        }
        for tag in &doc.tags {
            d.add_text(f.tags, tag);
            d.add_facet(f.tag_facet, tag_facet(tag));
        }
        if let Some(camera) = &doc.camera {
            d.add_text(f.camera, camera);
        }
        if let Some(lens) = &doc.lens {
            d.add_text(f.lens, lens);
        }
        if let Some(taken) = doc.taken {
            d.add_i64(f.taken, taken);
        }
        d.add_text(f.media, &doc.media);
        self.remove(doc.photo);
        self.writer()
            .add_document(d)
            .map_err(tantivy_error(&self.path))?;
        Ok(())
    }

    /// Removes a photo's document (gone after [`Self::commit`]).
    pub fn remove(&self, photo: PhotoId) {
        self.writer()
            .delete_term(Term::from_field_i64(self.fields.photo, photo.0));
    }

    /// Removes every document (for a rebuild).
    pub fn clear(&self) -> Result<()> {
        self.writer()
            .delete_all_documents()
            .map_err(tantivy_error(&self.path))?;
        Ok(())
    }

    /// Makes the writes so far durable and visible, recording the store's watermark.
    pub fn commit(&self, watermark: &str) -> Result<()> {
        let wrap = tantivy_error(&self.path);
        let mut writer = self.writer();
        let mut prepared = writer.prepare_commit().map_err(&wrap)?;
        prepared.set_payload(watermark);
        prepared.commit().map_err(&wrap)?;
        self.reader.reload().map_err(&wrap)
    }

    /// The watermark of the last commit; `None` for a new index.
    pub fn watermark(&self) -> Result<Option<String>> {
        let metas = self.index.load_metas().map_err(tantivy_error(&self.path))?;
        Ok(metas.payload)
    }

    /// Number of photos searchable now.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether no photo is searchable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// BM25 over captions, tags, path words, camera and lens: photos matching any include
    /// term (weighted), none of the exclude terms, and every filter; best first.
    pub fn search(
        &self,
        include: &[QueryTerm],
        exclude: &[QueryTerm],
        filters: &SearchFilters,
        limit: usize,
    ) -> Result<Vec<TextHit>> {
        let parser = self.parser();
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in include {
            if let Some(q) = parse(&parser, &term.text) {
                should.push((Occur::Should, Box::new(BoostQuery::new(q, term.weight))));
            }
        }
        if should.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut all = self.narrowing(&parser, exclude, filters);
        all.push((Occur::Must, Box::new(BooleanQuery::new(should))));
        let searcher = self.reader.searcher();
        let wrap = tantivy_error(&self.path);
        let top = searcher
            .search(
                &BooleanQuery::new(all),
                &TopDocs::with_limit(limit).order_by_score(),
            )
            .map_err(&wrap)?;
        let mut columns = Columns::new(&searcher, &self.path);
        top.into_iter()
            .map(|(score, address)| {
                Ok(TextHit {
                    photo: columns.read(address)?.0,
                    score,
                })
            })
            .collect()
    }

    /// The photos that pass the filters and contain none of the exclude terms; `None` when
    /// nothing narrows the library.
    pub fn allowed(
        &self,
        exclude: &[QueryTerm],
        filters: &SearchFilters,
    ) -> Result<Option<HashSet<PhotoId>>> {
        let mut all = self.narrowing(&self.parser(), exclude, filters);
        if all.is_empty() {
            return Ok(None);
        }
        all.push((Occur::Must, Box::new(AllQuery)));
        let found = self.with_dates(&BooleanQuery::new(all))?;
        Ok(Some(found.into_iter().map(|(photo, _)| photo).collect()))
    }

    /// Every photo the filters let through, with its date.
    pub fn photos(&self, filters: &SearchFilters) -> Result<Vec<(PhotoId, Option<i64>)>> {
        let mut all = self.narrowing(&self.parser(), &[], filters);
        all.push((Occur::Must, Box::new(AllQuery)));
        self.with_dates(&BooleanQuery::new(all))
    }

    /// The dates of these photos, for those that have one.
    pub fn dates(&self, photos: &[PhotoId]) -> Result<HashMap<PhotoId, i64>> {
        let terms = photos
            .iter()
            .map(|p| Term::from_field_i64(self.fields.photo, p.0));
        let found = self.with_dates(&TermSetQuery::new(terms))?;
        Ok(found
            .into_iter()
            .filter_map(|(photo, taken)| taken.map(|t| (photo, t)))
            .collect())
    }

    fn with_dates(&self, query: &dyn Query) -> Result<Vec<(PhotoId, Option<i64>)>> {
        let searcher = self.reader.searcher();
        let docs = searcher
            .search(query, &DocSetCollector)
            .map_err(tantivy_error(&self.path))?;
        let mut columns = Columns::new(&searcher, &self.path);
        docs.into_iter()
            .map(|address| columns.read(address))
            .collect()
    }

    /// The photos whose text matches any of the terms (what an exclusion removes), and the
    /// photos Stable Diffusion made while `shown` hides them.
    pub fn excluded(&self, exclude: &[QueryTerm], shown: Generated) -> Result<HashSet<PhotoId>> {
        let parser = self.parser();
        let any: Vec<(Occur, Box<dyn Query>)> = exclude
            .iter()
            .filter_map(|term| parse(&parser, &term.text))
            .chain((shown == Generated::Hidden).then(|| generated(&self.fields)))
            .map(|q| (Occur::Should, q))
            .collect();
        if any.is_empty() {
            return Ok(HashSet::new());
        }
        let found = self.with_dates(&BooleanQuery::new(any))?;
        Ok(found.into_iter().map(|(photo, _)| photo).collect())
    }

    /// Tags and their photo counts, most used first.
    pub fn tag_facets(&self) -> Result<Vec<(String, u64)>> {
        let mut collector = tantivy::collector::FacetCollector::for_field("tag");
        collector.add_facet(Facet::root());
        let searcher = self.reader.searcher();
        let counts = searcher
            .search(&AllQuery, &collector)
            .map_err(tantivy_error(&self.path))?;
        let mut tags: Vec<(String, u64)> = counts
            .get("/")
            .map(|(facet, n)| {
                let name = facet
                    .to_path()
                    .last()
                    .map_or_else(String::new, |s| (*s).to_owned());
                (name, n)
            })
            .collect();
        tags.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(tags)
    }

    fn parser(&self) -> QueryParser {
        let mut parser = QueryParser::for_index(&self.index, self.fields.searched());
        for (_, field) in &self.fields.captions {
            parser.set_field_boost(*field, 2.0);
        }
        parser.set_field_boost(self.fields.tags, 2.0);
        parser
    }

    /// Every filter as a must clause and every exclude term as a must-not clause.
    fn narrowing(
        &self,
        parser: &QueryParser,
        exclude: &[QueryTerm],
        filters: &SearchFilters,
    ) -> Vec<(Occur, Box<dyn Query>)> {
        let must = self
            .filter_clauses(filters)
            .into_iter()
            .map(|q| (Occur::Must, q));
        let must_not = exclude
            .iter()
            .filter_map(|term| parse(parser, &term.text))
            .chain((filters.generated == Generated::Hidden).then(|| generated(&self.fields)))
            .map(|q| (Occur::MustNot, q));
        must.chain(must_not).collect()
    }

    fn filter_clauses(&self, filters: &SearchFilters) -> Vec<Box<dyn Query>> {
        clauses(filters, &self.fields, |text| {
            self.words(self.fields.camera, text)
        })
    }

    /// `text` as the tokens `field`'s analyzer makes.
    fn words(&self, field: Field, text: &str) -> Vec<String> {
        let Ok(mut analyzer) = self.index.tokenizer_for_field(field) else {
            return Vec::new();
        };
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while stream.advance() {
            words.push(stream.token().text.clone());
        }
        words
    }
}

/// The photo id and date columns, opened once per segment.
struct Columns<'a> {
    searcher: &'a tantivy::Searcher,
    path: &'a Path,
    open: HashMap<u32, (Column<i64>, Column<i64>)>,
}

impl<'a> Columns<'a> {
    fn new(searcher: &'a tantivy::Searcher, path: &'a Path) -> Self {
        Self {
            searcher,
            path,
            open: HashMap::new(),
        }
    }

    /// A document's photo and date.
    fn read(&mut self, address: DocAddress) -> Result<(PhotoId, Option<i64>)> {
        let wrap = tantivy_error(self.path);
        let (photo, taken) = match self.open.entry(address.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let fields = self
                    .searcher
                    .segment_reader(address.segment_ord)
                    .fast_fields();
                let photo = fields.i64("photo").map_err(&wrap)?;
                let taken = fields.i64("taken").map_err(&wrap)?;
                e.insert((photo, taken))
            }
        };
        let id = photo.first(address.doc_id).map(PhotoId).ok_or_else(|| {
            wrap(tantivy::TantivyError::InternalError(
                "document without a photo id".to_owned(),
            ))
        })?;
        Ok((id, taken.first(address.doc_id)))
    }
}

/// The query parser's reading of plain words: operators and syntax characters are ours, not
/// tantivy's, so they are stripped first. `None` when no word is left.
fn parse(parser: &QueryParser, text: &str) -> Option<Box<dyn Query>> {
    let plain: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    if plain.trim().is_empty() {
        return None;
    }
    Some(parser.parse_query_lenient(&plain).0)
}

fn tantivy_error(path: &Path) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |source| match source {
        tantivy::TantivyError::LockFailure(..) => Error::Busy {
            path: path.to_owned(),
        },
        source => Error::Tantivy {
            path: path.to_owned(),
            source,
        },
    }
}
