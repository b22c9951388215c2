//! Library roots: the folders Shoebox watches.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::RootId;

/// A folder whose photos are in the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// Id.
    pub id: RootId,
    /// Absolute, canonical path.
    pub path: PathBuf,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}
