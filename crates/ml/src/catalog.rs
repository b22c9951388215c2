//! The models Shoebox knows how to fetch (`config/models.toml`, built in, plus an optional
//! file of the user's): where each lives on the Hugging Face hub, pinned to a commit, and the
//! SHA-256 of every file it needs.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The built-in catalog.
const BUILTIN: &str = include_str!("../../../config/models.toml");

/// What architecture a checkpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// OpenAI CLIP (`CLIPModel`).
    Clip,
    /// Google SigLIP (`SiglipModel`).
    Siglip,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Clip => "clip",
            Self::Siglip => "siglip",
        })
    }
}

/// One model of the catalog.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The name commands and settings use; also its folder under the models directory.
    pub name: String,
    /// Its architecture.
    pub family: Family,
    /// Hub repository, `owner/name`.
    pub repo: String,
    /// The pinned commit (40 hex digits).
    pub revision: String,
    /// Embedding width.
    pub dimension: usize,
    /// One line for `shoebox models list`.
    pub description: String,
    /// Every file the model needs.
    pub files: Vec<FileSpec>,
}

/// One file of a model.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// File name inside the repository and the model folder.
    pub name: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes, where known (shown before a download).
    #[serde(default)]
    pub size: Option<u64>,
}

/// A list of models.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The models, in the order they are listed.
    #[serde(default, rename = "model")]
    pub models: Vec<ModelSpec>,
}

impl Catalog {
    /// The built-in catalog, then the models of `extra` (a file in the same format; a model
    /// with a built-in name replaces it).
    pub fn load(extra: Option<&Path>) -> Result<Self> {
        let mut catalog = Self::parse(BUILTIN, Path::new("config/models.toml"))?;
        if let Some(path) = extra {
            let text = fs_err::read_to_string(path).map_err(|e| Error::InvalidFile {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            for model in Self::parse(&text, path)?.models {
                catalog.models.retain(|m| m.name != model.name);
                catalog.models.push(model);
            }
        }
        Ok(catalog)
    }

    fn parse(text: &str, path: &Path) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidFile {
            path: path.to_owned(),
            reason,
        };
        let catalog: Self = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for model in &catalog.models {
            model
                .check()
                .map_err(|e| invalid(format!("model {}: {e}", model.name)))?;
        }
        Ok(catalog)
    }

    /// The model called `name`.
    pub fn get(&self, name: &str) -> Result<&ModelSpec> {
        self.models
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| Error::UnknownModel {
                name: name.to_owned(),
                known: self
                    .models
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl ModelSpec {
    /// Names must be plain file names: they become paths under the models directory.
    fn check(&self) -> std::result::Result<(), String> {
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !plain_name(&self.name) {
            return Err(format!("{:?} is not a plain folder name", self.name));
        }
        if !hex(&self.revision, 40) {
            return Err(format!(
                "revision {:?} is not a 40-digit commit",
                self.revision
            ));
        }
        if self.files.is_empty() {
            return Err("no files".to_owned());
        }
        for file in &self.files {
            if !plain_name(&file.name) {
                return Err(format!("{:?} is not a plain file name", file.name));
            }
            if !hex(&file.sha256, 64) {
                return Err(format!(
                    "{}: sha256 is not 64 lower-case hex digits",
                    file.name
                ));
            }
        }
        Ok(())
    }
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_is_valid() -> Result<()> {
        let catalog = Catalog::load(None)?;
        let default = catalog.get("clip-vit-base-patch32")?;
        assert_eq!((default.family, default.dimension), (Family::Clip, 512));
        assert!(default.files.iter().any(|f| f.name == "model.safetensors"));
        assert!(catalog.get("nope").is_err());
        Ok(())
    }

    #[test]
    fn bad_entries_are_refused() {
        let entry = |name: &str, revision: &str, file: &str, sha: &str| {
            format!(
                "[[model]]\nname = \"{name}\"\nfamily = \"clip\"\nrepo = \"a/b\"\n\
                 revision = \"{revision}\"\ndimension = 4\ndescription = \"\"\n\
                 files = [{{ name = \"{file}\", sha256 = \"{sha}\" }}]\n"
            )
        };
        let (rev, sha) = ("a".repeat(40), "b".repeat(64));
        let path = Path::new("test.toml");
        assert!(Catalog::parse(&entry("ok", &rev, "config.json", &sha), path).is_ok());
        for bad in [
            entry("../up", &rev, "config.json", &sha),
            entry("ok", "main", "config.json", &sha),
            entry("ok", &rev, "../../etc/passwd", &sha),
            entry("ok", &rev, "config.json", &"B".repeat(64)),
        ] {
            assert!(Catalog::parse(&bad, path).is_err(), "{bad}");
        }
    }
}
