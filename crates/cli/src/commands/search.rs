//! `shoebox search` and `shoebox similar`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shoebox_core::{PhotoId, SearchFilters, day_start};
use shoebox_engine::{Engine, Explain, SearchPage, SearchRequest, SimilarTo, SortOrder};
use time::OffsetDateTime;

use crate::cli::{Generated, SearchArgs, Sort};
use crate::output;

#[derive(Serialize)]
struct Hit {
    photo: PhotoId,
    path: Option<PathBuf>,
    score: f32,
    taken: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explain: Option<Explain>,
}

#[derive(Serialize)]
struct Page {
    hits: Vec<Hit>,
    total: usize,
    next: Option<String>,
}

pub(crate) async fn search(engine: &Engine, query: &str, args: &SearchArgs) -> anyhow::Result<()> {
    let request = request(engine, query, args).await?;
    let clip = engine.clip(args.model.model_dir.as_deref())?;
    let indices = engine.indices(&clip).await?;
    let page = engine.search(&clip, &indices, &request)?;
    print(engine, page, args).await
}

pub(crate) async fn similar(engine: &Engine, photo: &str, args: &SearchArgs) -> anyhow::Result<()> {
    let request = request(engine, "", args).await?;
    let clip = engine.clip(args.model.model_dir.as_deref())?;
    let indices = engine.indices(&clip).await?;
    let to = match photo.parse::<i64>() {
        Ok(id) if !Path::new(photo).exists() => SimilarTo::Photo(PhotoId(id)),
        _ => SimilarTo::File(Path::new(photo)),
    };
    let page = engine.similar(&clip, &indices, to, &request)?;
    print(engine, page, args).await
}

async fn request(engine: &Engine, query: &str, args: &SearchArgs) -> anyhow::Result<SearchRequest> {
    let mut folders = Vec::with_capacity(args.folders.len());
    for folder in &args.folders {
        folders.push(engine.folder_ref(folder).await?);
    }
    Ok(SearchRequest {
        query: query.to_owned(),
        filters: SearchFilters {
            since: args.since.as_deref().map(|d| day_start(d, 0)).transpose()?,
            until: args.until.as_deref().map(|d| day_start(d, 1)).transpose()?,
            folders,
            camera: args.camera.clone(),
            tags: args.tags.clone(),
            media: None,
            generated: match args.generated {
                Generated::Hidden => shoebox_core::Generated::Hidden,
                Generated::Included => shoebox_core::Generated::Included,
                Generated::Only => shoebox_core::Generated::Only,
            },
        },
        sort: match args.sort {
            Sort::Relevance => SortOrder::Relevance,
            Sort::Date => SortOrder::Date,
        },
        limit: args.limit,
        cursor: args.cursor.clone(),
        explain: args.explain,
    })
}

async fn print(engine: &Engine, page: SearchPage, args: &SearchArgs) -> anyhow::Result<()> {
    let roots = engine.roots().await?;
    let mut hits = Vec::with_capacity(page.hits.len());
    for hit in page.hits {
        let path = engine.photo(hit.photo).await?.and_then(|p| {
            roots
                .iter()
                .find(|r| r.id == p.root)
                .map(|r| r.path.join(&p.rel_path))
        });
        let taken = hit
            .taken
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .map(|t| t.date().to_string());
        hits.push(Hit {
            photo: hit.photo,
            path,
            score: hit.score,
            taken,
            explain: hit.explain,
        });
    }
    let page = Page {
        hits,
        total: page.total,
        next: page.next,
    };
    if args.json {
        return output::json(&page);
    }
    if page.hits.is_empty() {
        return output::text(["No matching photos.".to_owned()]);
    }
    let mut lines = Vec::new();
    for (i, hit) in page.hits.iter().enumerate() {
        let path = hit.path.as_ref().map_or_else(
            || format!("photo {}", hit.photo),
            |p| p.display().to_string(),
        );
        lines.push(format!(
            "{:>3}. {path}  {:.4}  {}",
            i + 1,
            hit.score,
            hit.taken.as_deref().unwrap_or("")
        ));
        if let Some(e) = &hit.explain {
            let part = |name: &str, s: Option<shoebox_engine::SourceScore>| {
                s.map_or_else(
                    || format!("{name} –"),
                    |s| format!("{name} #{} {:.3}", s.rank, s.score),
                )
            };
            lines.push(format!(
                "     {} · {}",
                part("clip", e.clip),
                part("text", e.text)
            ));
        }
    }
    lines.push(match &page.next {
        Some(next) => format!(
            "{} of {} hits · next page: --cursor {next}",
            page.hits.len(),
            page.total
        ),
        None => format!("{} of {} hits", page.hits.len(), page.total),
    });
    output::text(lines)
}
