//! Smart albums: photos whose CLIP similarity to one or more prompts reaches a threshold.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Longest album name, in bytes.
pub const MAX_ALBUM_NAME: usize = 100;
/// Most prompts per album.
pub const MAX_ALBUM_PROMPTS: usize = 16;
/// Longest prompt, in bytes.
pub const MAX_PROMPT: usize = 300;

/// A smart album's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmartAlbum {
    /// The store's id.
    pub id: i64,
    /// Its name, unique.
    pub name: String,
    /// What its photos show; a photo's score is its similarity to their mean.
    pub prompts: Vec<String>,
    /// The cosine similarity a photo needs to belong.
    pub threshold: f32,
}

impl SmartAlbum {
    /// Checks a definition from a person: a name and prompts that are not empty, on one line,
    /// within the limits; a threshold in `[-1, 1]`.
    pub fn check(name: &str, prompts: &[String], threshold: f32) -> Result<()> {
        let invalid = |what: String| Err(Error::Invalid(what));
        if name.trim().is_empty() || name.len() > MAX_ALBUM_NAME || name.contains('\n') {
            return invalid(format!(
                "an album name is one line of 1 to {MAX_ALBUM_NAME} bytes"
            ));
        }
        if prompts.is_empty() || prompts.len() > MAX_ALBUM_PROMPTS {
            return invalid(format!("an album takes 1 to {MAX_ALBUM_PROMPTS} prompts"));
        }
        if let Some(bad) = prompts
            .iter()
            .find(|p| p.trim().is_empty() || p.len() > MAX_PROMPT || p.contains('\n'))
        {
            return invalid(format!(
                "bad prompt {bad:?}: a prompt is one line of 1 to {MAX_PROMPT} bytes"
            ));
        }
        if !(-1.0..=1.0).contains(&threshold) {
            return invalid(format!(
                "threshold {threshold}: a cosine similarity, from -1 to 1"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_checked() {
        let prompts = vec!["a dog in the snow".to_owned()];
        assert!(SmartAlbum::check("Snow dogs", &prompts, 0.25).is_ok());
        assert!(SmartAlbum::check(" ", &prompts, 0.25).is_err());
        assert!(SmartAlbum::check("a\nb", &prompts, 0.25).is_err());
        assert!(SmartAlbum::check("x", &[], 0.25).is_err());
        assert!(SmartAlbum::check("x", &["two\nlines".to_owned()], 0.25).is_err());
        assert!(SmartAlbum::check("x", &["".to_owned()], 0.25).is_err());
        assert!(SmartAlbum::check("x", &prompts, 1.5).is_err());
        assert!(SmartAlbum::check("x", &prompts, f32::NAN).is_err());
    }
}
