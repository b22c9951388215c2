//! The ml crate's error type.

use std::path::PathBuf;

/// Errors from loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A checkpoint file is missing.
    #[error(
        "model file missing: {} (`shoebox models pull NAME` installs every file a model needs)",
        path.display()
    )]
    MissingFile {
        /// The file that should be there.
        path: PathBuf,
    },
    /// A checkpoint file cannot be read or parsed.
    #[error("invalid model file {}: {reason}", path.display())]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The checkpoint asks for something this implementation does not do.
    #[error("unsupported model configuration: {0}")]
    Unsupported(String),
    /// The weights do not fit the configuration (a missing tensor, a wrong shape).
    #[error("weights in {} do not match config.json: {reason}", path.display())]
    WeightsMismatch {
        /// The weights file.
        path: PathBuf,
        /// candle's account of the mismatch.
        reason: String,
    },
    /// A question the model cannot take (empty, or beyond its context).
    #[error("bad question: {0}")]
    Question(String),
    /// An image variation asked for something the model cannot do (a size, strength, steps).
    #[error("bad variation: {0}")]
    Variation(String),
    /// The caller cancelled the run.
    #[error("cancelled")]
    Cancelled,
    /// Tokenising failed.
    #[error("cannot tokenise text: {0}")]
    Tokenize(String),
    /// An image cannot be preprocessed.
    #[error("cannot preprocess image: {0}")]
    Image(String),
    /// No catalog entry has this name.
    #[error("unknown model {name:?} (known: {known}; `shoebox models list` shows them)")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The catalog's names.
        known: String,
    },
    /// A download failed.
    #[error(
        "cannot download {file} of model {model}: {reason} (run `shoebox models pull {model}` again to resume)"
    )]
    Download {
        /// The model.
        model: String,
        /// The file.
        file: String,
        /// What went wrong.
        reason: String,
    },
    /// A downloaded file is not what the catalog pins.
    #[error(
        "{file} of model {model} has SHA-256 {actual}, expected {expected}; it was not \
         installed (run `shoebox models pull {model}` again)"
    )]
    Checksum {
        /// The model.
        model: String,
        /// The file.
        file: String,
        /// The pinned checksum.
        expected: String,
        /// The downloaded file's.
        actual: String,
    },
    /// Reading or writing the models directory failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Result with the ml crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for shoebox_core::Error {
    fn from(e: Error) -> Self {
        shoebox_core::Error::backend("model", e)
    }
}
