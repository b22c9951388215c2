//! The schema: one field per concept, one caption field per language with its stemmer.

use tantivy::schema::{
    FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};

/// Caption languages with a stemmer, as ISO 639-1 codes.
pub const SUPPORTED_LANGUAGES: [&str; 18] = [
    "ar", "da", "nl", "en", "fi", "fr", "de", "el", "hu", "it", "no", "pt", "ro", "ru", "es", "sv",
    "ta", "tr",
];

const LANGUAGES: [Language; 18] = [
    Language::Arabic,
    Language::Danish,
    Language::Dutch,
    Language::English,
    Language::Finnish,
    Language::French,
    Language::German,
    Language::Greek,
    Language::Hungarian,
    Language::Italian,
    Language::Norwegian,
    Language::Portuguese,
    Language::Romanian,
    Language::Russian,
    Language::Spanish,
    Language::Swedish,
    Language::Tamil,
    Language::Turkish,
];

/// Tokenizer for words that are not in a known language (paths, cameras).
pub(crate) const PLAIN: &str = "plain";

/// The fields, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub(crate) photo: Field,
    pub(crate) root: Field,
    pub(crate) path: Field,
    pub(crate) folder: Field,
    pub(crate) captions: Vec<(&'static str, Field)>,
    pub(crate) tags: Field,
    pub(crate) tag_facet: Field,
    pub(crate) camera: Field,
    pub(crate) lens: Field,
    pub(crate) taken: Field,
    pub(crate) media: Field,
}

impl Fields {
    /// Every field BM25 searches.
    pub(crate) fn searched(&self) -> Vec<Field> {
        let mut fields = vec![self.path, self.tags, self.camera, self.lens];
        fields.extend(self.captions.iter().map(|(_, f)| *f));
        fields
    }

    pub(crate) fn caption(&self, lang: &str) -> Option<Field> {
        self.captions
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, f)| *f)
    }
}

fn text(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

fn stem_name(lang: &str) -> String {
    format!("stem_{lang}")
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        photo: b.add_i64_field("photo", INDEXED | FAST | STORED),
        root: b.add_i64_field("root", INDEXED | FAST),
        path: b.add_text_field("path", text(PLAIN)),
        folder: b.add_facet_field("folder", FacetOptions::default()),
        captions: SUPPORTED_LANGUAGES
            .iter()
            .map(|lang| {
                (
                    *lang,
                    b.add_text_field(&format!("caption_{lang}"), text(&stem_name(lang))),
                )
            })
            .collect(),
        tags: b.add_text_field("tags", text(&stem_name("en"))),
        tag_facet: b.add_facet_field("tag", FacetOptions::default()),
        camera: b.add_text_field("camera", text(PLAIN)),
        lens: b.add_text_field("lens", text(PLAIN)),
        taken: b.add_i64_field("taken", INDEXED | FAST),
        media: b.add_text_field("media", STRING),
    };
    (b.build(), fields)
}

/// Registers the plain tokenizer and one stemming tokenizer per language.
pub(crate) fn register_tokenizers(index: &tantivy::Index) {
    let manager = index.tokenizers();
    manager.register(
        PLAIN,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .build(),
    );
    for (lang, language) in SUPPORTED_LANGUAGES.iter().zip(LANGUAGES) {
        manager.register(
            &stem_name(lang),
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(Stemmer::new(language))
                .build(),
        );
    }
}
