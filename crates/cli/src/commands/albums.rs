//! `shoebox albums add|list|show|remove`.

use serde::Serialize;
use shoebox_engine::{Engine, Error};

use crate::cli::AlbumsCommand;
use crate::output;

#[derive(Serialize)]
struct Member {
    photo: i64,
    score: f32,
    path: Option<String>,
}

pub(crate) async fn run(engine: &Engine, command: AlbumsCommand) -> anyhow::Result<()> {
    match command {
        AlbumsCommand::Add {
            name,
            prompts,
            threshold,
            model,
        } => {
            let album = engine.put_album(&name, &prompts, threshold).await?;
            let mut lines = vec![format!("album {:?} saved (id {})", album.name, album.id)];
            // Fill it now where this process can: a model is installed and no other
            // Shoebox works on the library (a running `shoebox watch` fills it itself).
            match engine.clip(model.model_dir.as_deref()) {
                Ok(clip) => match engine.tag_library(&clip).await {
                    Ok(_) => {
                        let (_, photos) = engine.album(&album.name).await?;
                        lines.push(format!("  {} photos in it", photos.len()));
                    }
                    Err(Error::Busy { .. }) => lines.push(
                        "  another Shoebox is working on this library; it fills the album"
                            .to_owned(),
                    ),
                    Err(e) => return Err(e.into()),
                },
                Err(e @ Error::ModelMissing { .. }) => {
                    lines.push(format!("  filled once a CLIP model is installed: {e}"));
                }
                Err(e) => return Err(e.into()),
            }
            output::text(lines)
        }
        AlbumsCommand::List { json } => {
            let albums = engine.albums().await?;
            if json {
                return output::json(&albums);
            }
            output::text(albums.iter().map(|a| {
                format!(
                    "{}\t{} photos\t≥ {}\t{}",
                    a.album.name,
                    a.photos,
                    a.album.threshold,
                    a.album.prompts.join(" | ")
                )
            }))
        }
        AlbumsCommand::Show { name, json } => {
            let (_, photos) = engine.album(&name).await?;
            let mut members = Vec::with_capacity(photos.len());
            for (photo, score) in photos {
                let path = engine
                    .photo_path(photo)
                    .await?
                    .map(|p| p.display().to_string());
                members.push(Member {
                    photo: photo.0,
                    score,
                    path,
                });
            }
            if json {
                return output::json(&members);
            }
            output::text(members.iter().map(|m| {
                format!(
                    "{}\t{:.3}\t{}",
                    m.photo,
                    m.score,
                    m.path.as_deref().unwrap_or("?")
                )
            }))
        }
        AlbumsCommand::Remove { name } => {
            engine.remove_album(&name).await?;
            output::text([format!("album {name:?} removed")])
        }
    }
}
