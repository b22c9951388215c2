//! The text index on a small hand-made library whose right answers are known.

use std::collections::HashSet;

use shoebox_core::{
    FolderRef, Generated, MEDIA_GENERATED, PhotoId, QueryTerm, RootId, SearchFilters,
};
use shoebox_text::{Caption, TextDoc, TextIndex};

fn doc(
    id: i64,
    rel: &str,
    caption: (&str, &str),
    tags: &[&str],
    camera: &str,
    taken: i64,
) -> TextDoc {
    TextDoc {
        photo: PhotoId(id),
        root: 1,
        rel_path: rel.to_owned(),
        captions: vec![Caption {
            lang: caption.0.to_owned(),
            text: caption.1.to_owned(),
        }],
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        camera: Some(camera.to_owned()),
        lens: None,
        taken: Some(taken),
        media: "photo".to_owned(),
    }
}

const DAY: i64 = 86_400;

fn library() -> anyhow::Result<TextIndex> {
    let index = TextIndex::in_memory()?;
    for d in [
        doc(
            1,
            "2023/Trip_to-Rome/IMG_0001.jpg",
            ("en", "people walking by the colosseum"),
            &["city"],
            "Google Pixel 7",
            10 * DAY,
        ),
        doc(
            2,
            "2023/beach/DSC_0002.jpg",
            ("en", "two dogs running on the beach"),
            &["dog", "beach"],
            "Sony ILCE-7M3",
            20 * DAY,
        ),
        doc(
            3,
            "2023/beach/DSC_0003.jpg",
            ("en", "people playing volleyball on the beach"),
            &["beach"],
            "Sony ILCE-7M3",
            21 * DAY,
        ),
        doc(
            4,
            "2024/home/cat.jpg",
            ("de", "eine Katze schläft neben zwei Hunden"),
            &["cat", "dog"],
            "Google Pixel 8",
            400 * DAY,
        ),
        doc(
            5,
            "2024/home/kitchen.jpg",
            ("en", "a kitchen with a red kettle"),
            &[],
            "Apple iPhone 12",
            401 * DAY,
        ),
    ] {
        index.upsert(&d)?;
    }
    index.commit("w1")?;
    Ok(index)
}

fn term(text: &str) -> QueryTerm {
    QueryTerm {
        text: text.to_owned(),
        weight: 1.0,
    }
}

fn search(
    index: &TextIndex,
    include: &[&str],
    exclude: &[&str],
    filters: &SearchFilters,
) -> Vec<i64> {
    let include: Vec<_> = include.iter().map(|t| term(t)).collect();
    let exclude: Vec<_> = exclude.iter().map(|t| term(t)).collect();
    index
        .search(&include, &exclude, filters, 10)
        .expect("search")
        .into_iter()
        .map(|h| h.photo.0)
        .collect()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

#[test]
fn words_are_stemmed_per_language_and_paths_are_words() -> anyhow::Result<()> {
    let index = library()?;
    let none = SearchFilters::default();
    assert_eq!(
        sorted(search(&index, &["dog"], &[], &none)),
        [2, 4],
        "caption 'dogs' + tag 'dog'"
    );
    assert_eq!(search(&index, &["run"], &[], &none), [2]);
    assert_eq!(
        search(&index, &["Hund"], &[], &none),
        [4],
        "German stemmer on the de caption"
    );
    assert_eq!(search(&index, &["rome"], &[], &none), [1], "folder name");
    assert_eq!(search(&index, &["dsc 0003"], &[], &none)[0], 3, "file name");
    assert_eq!(search(&index, &["pixel"], &[], &none).len(), 2, "camera");
    assert!(search(&index, &["zebra"], &[], &none).is_empty());
    assert!(
        search(&index, &["\"(*:"], &[], &none).is_empty(),
        "syntax is not ours to parse"
    );
    Ok(())
}

#[test]
fn exclusions_and_weights() -> anyhow::Result<()> {
    let index = library()?;
    let none = SearchFilters::default();
    assert_eq!(search(&index, &["beach"], &["people"], &none), [2]);
    let mut heavy = term("kettle");
    heavy.weight = 5.0;
    let hits = index.search(&[term("beach"), heavy], &[], &none, 10)?;
    assert_eq!(
        hits[0].photo,
        PhotoId(5),
        "the weighted term wins: {hits:?}"
    );
    Ok(())
}

#[test]
fn filters_narrow_search_and_give_the_allowed_set() -> anyhow::Result<()> {
    let index = library()?;
    let filters = |f: SearchFilters| f;
    let beach_2023 = filters(SearchFilters {
        folders: vec![FolderRef {
            root: RootId(1),
            rel: "2023".to_owned(),
        }],
        ..SearchFilters::default()
    });
    assert_eq!(
        sorted(search(&index, &["people"], &[], &beach_2023)),
        [1, 3]
    );
    let sub = SearchFilters {
        folders: vec![FolderRef {
            root: RootId(1),
            rel: "2023/beach".to_owned(),
        }],
        ..SearchFilters::default()
    };
    assert_eq!(search(&index, &["people"], &[], &sub), [3]);
    let dated = SearchFilters {
        since: Some(15 * DAY),
        until: Some(21 * DAY),
        ..SearchFilters::default()
    };
    assert_eq!(
        search(&index, &["beach"], &[], &dated),
        [2],
        "until is exclusive"
    );
    let camera = SearchFilters {
        camera: Some("pixel 8".to_owned()),
        ..SearchFilters::default()
    };
    assert_eq!(
        index.allowed(&[], &camera)?,
        Some(HashSet::from([PhotoId(4)]))
    );
    let tags = SearchFilters {
        tags: vec!["dog".to_owned(), "Beach".to_owned()],
        ..SearchFilters::default()
    };
    assert_eq!(
        index.allowed(&[], &tags)?,
        Some(HashSet::from([PhotoId(2)]))
    );
    let everything = SearchFilters {
        generated: Generated::Included,
        ..SearchFilters::default()
    };
    assert_eq!(index.allowed(&[], &everything)?, None);
    assert_eq!(
        index.allowed(&[term("beach")], &everything)?,
        Some(HashSet::from([1, 4, 5].map(PhotoId)))
    );
    Ok(())
}

#[test]
fn generated_photos_are_found_only_when_asked() -> anyhow::Result<()> {
    let index = library()?;
    let mut made = doc(9, "9-1-aa.png", ("en", "a dog on the beach"), &[], "", DAY);
    made.media = MEDIA_GENERATED.to_owned();
    index.upsert(&made)?;
    index.commit("w")?;
    let shown = |generated| SearchFilters {
        generated,
        ..SearchFilters::default()
    };
    let by_words = |generated| search(&index, &["dog"], &[], &shown(generated));
    assert!(!by_words(Generated::Hidden).contains(&9));
    assert!(by_words(Generated::Included).contains(&9));
    assert_eq!(by_words(Generated::Only), [9]);
    // The allowed set and the exclusions (the vector side's filters) agree.
    let hidden = index
        .allowed(&[], &shown(Generated::Hidden))?
        .unwrap_or_default();
    assert!(!hidden.is_empty() && !hidden.contains(&PhotoId(9)));
    assert_eq!(
        index.allowed(&[], &shown(Generated::Only))?,
        Some(HashSet::from([PhotoId(9)]))
    );
    assert_eq!(
        index.excluded(&[], Generated::Hidden)?,
        HashSet::from([PhotoId(9)])
    );
    assert!(index.excluded(&[], Generated::Included)?.is_empty());
    Ok(())
}

#[test]
fn replacing_and_removing_documents() -> anyhow::Result<()> {
    let index = library()?;
    let none = SearchFilters::default();
    index.upsert(&doc(
        5,
        "2024/home/kitchen.jpg",
        ("en", "a kitchen with a blue kettle"),
        &[],
        "Apple",
        401 * DAY,
    ))?;
    index.remove(PhotoId(2));
    index.commit("w2")?;
    assert_eq!(index.len(), 4);
    assert_eq!(search(&index, &["blue"], &[], &none), [5]);
    assert!(search(&index, &["red"], &[], &none).is_empty());
    assert!(search(&index, &["run"], &[], &none).is_empty());
    assert_eq!(
        index.tag_facets()?,
        [
            ("beach".to_owned(), 1),
            ("cat".to_owned(), 1),
            ("city".to_owned(), 1),
            ("dog".to_owned(), 1)
        ]
    );
    Ok(())
}

#[test]
fn commits_persist_with_their_watermark() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    {
        let index = TextIndex::open(dir.path())?;
        assert_eq!(index.watermark()?, None);
        index.upsert(&doc(
            9,
            "a/b.jpg",
            ("en", "a lighthouse at dusk"),
            &[],
            "X",
            0,
        ))?;
        index.commit("store-42")?;
    }
    let index = TextIndex::open(dir.path())?;
    assert_eq!(index.watermark()?.as_deref(), Some("store-42"));
    assert_eq!(
        search(&index, &["lighthouse"], &[], &SearchFilters::default()),
        [9]
    );
    Ok(())
}

#[test]
fn unknown_caption_language_is_a_clear_error() -> anyhow::Result<()> {
    let index = TextIndex::in_memory()?;
    let err = index
        .upsert(&doc(1, "x.jpg", ("xx", "words"), &[], "X", 0))
        .unwrap_err();
    assert!(
        err.to_string().contains("\"xx\" are not supported"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_second_writer_is_told_busy() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _first = TextIndex::open(dir.path())?;
    let err = TextIndex::open(dir.path()).unwrap_err();
    assert!(matches!(err, shoebox_text::Error::Busy { .. }), "{err}");
    Ok(())
}
