//! Roots an admin may add from the web UI: the sub-folders of `[storage] root_parents`, listed
//! by the server and picked by their place in that list, so no path ever comes from a request.

use std::path::{Path, PathBuf};

use shoebox_core::Root;

use crate::{Engine, Error, Result};

impl Engine {
    /// The folders an admin may add as roots: the sub-folders of `[storage] root_parents`
    /// (hidden ones left out) that neither are, hold nor sit in a root; sorted.
    pub async fn offered_roots(&self) -> Result<Vec<PathBuf>> {
        let roots = self.roots().await?;
        let overlaps = |dir: &Path| {
            roots
                .iter()
                .any(|r| r.path.starts_with(dir) || dir.starts_with(&r.path))
        };
        let mut offered = Vec::new();
        for parent in &self.settings().storage.root_parents {
            // A parent that is not there (an unmounted drive) offers nothing.
            let Ok(entries) = fs_err::read_dir(parent) else {
                continue;
            };
            for entry in entries.flatten() {
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                let Ok(dir) = fs_err::canonicalize(entry.path()) else {
                    continue;
                };
                if !hidden && dir.is_dir() && !overlaps(&dir) {
                    offered.push(dir);
                }
            }
        }
        offered.sort();
        offered.dedup();
        Ok(offered)
    }

    /// Adds the `index`-th of [`Self::offered_roots`] as a root, when it is still the folder
    /// named `name` (the list the person saw may have changed since).
    pub async fn add_offered_root(&self, index: usize, name: &str) -> Result<Root> {
        let offered = self.offered_roots().await?;
        let Some(dir) = offered
            .get(index)
            .filter(|dir| dir.file_name().is_some_and(|n| n == name))
        else {
            return Err(Error::Library(shoebox_core::Error::Conflict(
                "the list of folders changed; look at it again".to_owned(),
            )));
        };
        Ok(self.add_root(dir).await?.0)
    }
}
