//! Smart albums: defined by prompts and a threshold, filled by the tagging stage — new photos
//! as they are tagged, old ones by the back-fill a new or changed definition starts.

use serde::{Deserialize, Serialize};
use shoebox_core::{MetadataStore, PhotoId, SmartAlbum};

use crate::{Engine, Result};

/// An album with its current size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlbumSummary {
    /// The definition.
    #[serde(flatten)]
    pub album: SmartAlbum,
    /// Photos in it now.
    pub photos: usize,
}

impl Engine {
    /// Creates or redefines the album `name`; its photos are scored at the next tagging.
    pub async fn put_album(
        &self,
        name: &str,
        prompts: &[String],
        threshold: f32,
    ) -> Result<SmartAlbum> {
        let name = name.trim();
        let prompts: Vec<String> = prompts.iter().map(|p| p.trim().to_owned()).collect();
        SmartAlbum::check(name, &prompts, threshold)?;
        Ok(self.store().put_album(name, &prompts, threshold).await?)
    }

    /// Every album with its size.
    pub async fn albums(&self) -> Result<Vec<AlbumSummary>> {
        let mut out = Vec::new();
        for album in self.store().albums().await? {
            let photos = self.store().album_photos(album.id).await?.len();
            out.push(AlbumSummary { album, photos });
        }
        Ok(out)
    }

    /// The album `name` and its photos, best first.
    pub async fn album(&self, name: &str) -> Result<(SmartAlbum, Vec<(PhotoId, f32)>)> {
        let album = self
            .store()
            .albums()
            .await?
            .into_iter()
            .find(|a| a.name == name.trim())
            .ok_or_else(|| shoebox_core::Error::NotFound {
                what: format!("smart album {name:?}"),
            })?;
        let photos = self.store().album_photos(album.id).await?;
        Ok((album, photos))
    }

    /// Removes the album `name`.
    pub async fn remove_album(&self, name: &str) -> Result<()> {
        if self.store().remove_album(name.trim()).await? {
            Ok(())
        } else {
            Err(shoebox_core::Error::NotFound {
                what: format!("smart album {name:?}"),
            }
            .into())
        }
    }
}
