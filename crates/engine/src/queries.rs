//! Searches on an open library: the search service with the library's settings, and the
//! translations from what a person types (folders, photo ids, files) to what it needs.

use std::path::Path;

use shoebox_core::{FolderRef, ImageEmbedder, PhotoId};
use shoebox_ml::Clip;

use crate::search::{SearchIndices, SearchPage, SearchRequest, search, similar};
use crate::{Engine, Error, Result};

/// What `similar` starts from.
#[derive(Debug, Clone, Copy)]
pub enum SimilarTo<'a> {
    /// A photo of the library.
    Photo(PhotoId),
    /// An image file (not necessarily in the library).
    File(&'a Path),
}

impl Engine {
    /// Runs a text query.
    pub fn search(
        &self,
        clip: &Clip,
        indices: &SearchIndices,
        request: &SearchRequest,
    ) -> Result<SearchPage> {
        search(indices, clip, &self.settings().search, request)
    }

    /// Photos that look like a library photo or an image file; the query string of
    /// `request` may add exclusions.
    pub fn similar(
        &self,
        clip: &Clip,
        indices: &SearchIndices,
        to: SimilarTo<'_>,
        request: &SearchRequest,
    ) -> Result<SearchPage> {
        let settings = &self.settings().search;
        match to {
            SimilarTo::Photo(id) => {
                let vector =
                    indices
                        .vector
                        .vector(id)
                        .ok_or_else(|| shoebox_core::Error::NotFound {
                            what: format!("an embedding of photo {id} (run `shoebox index`)"),
                        })?;
                similar(indices, settings, request, vector, Some(id))
            }
            SimilarTo::File(path) => {
                let pixels = self.load_file(path)?;
                let embedding =
                    clip.embed_images(&[pixels])?
                        .pop()
                        .ok_or_else(|| Error::BadPath {
                            path: path.to_owned(),
                            reason: "no embedding".to_owned(),
                        })?;
                similar(indices, settings, request, &embedding.vector, None)
            }
        }
    }

    /// The library folder a path names: a root or a folder inside one.
    pub async fn folder_ref(&self, path: &Path) -> Result<FolderRef> {
        let canonical = fs_err::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        for root in self.roots().await? {
            if let Ok(rel) = canonical.strip_prefix(&root.path) {
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                return Ok(FolderRef { root: root.id, rel });
            }
        }
        Err(Error::BadPath {
            path: path.to_owned(),
            reason: "not inside a library root (see `shoebox roots list`)".to_owned(),
        })
    }
}
