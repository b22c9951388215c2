//! The engine's error type.

use std::path::PathBuf;

/// Errors from engine operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings could not be read or are invalid.
    #[error("invalid settings: {0}")]
    Settings(Box<figment::Error>),
    /// A path given by the user is not usable.
    #[error("{}: {reason}", path.display())]
    BadPath {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process is scanning the same data directory.
    #[error("another scan is running on {}; wait for it to finish", path.display())]
    Busy {
        /// The data directory.
        path: PathBuf,
    },
    /// Too many variation requests wait already.
    #[error("{waiting} variation requests are waiting; try again when some have finished")]
    QueueFull {
        /// Requests waiting.
        waiting: usize,
    },
    /// A filesystem operation in the data directory failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The request clashes with stored data, or names something that does not exist.
    #[error(transparent)]
    Library(#[from] shoebox_core::Error),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] shoebox_store::Error),
    /// A scan failed.
    #[error(transparent)]
    Indexer(#[from] shoebox_indexer::Error),
    /// A model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] shoebox_ml::Error),
    /// The vector index failed.
    #[error(transparent)]
    Vector(shoebox_vector::Error),
    /// The text index failed.
    #[error(transparent)]
    Text(shoebox_text::Error),
    /// The CLIP checkpoint is not where the settings say.
    #[error(
        "model {name} is not installed in {}: run `shoebox models pull {name}`, or pass \
         --model-dir DIR with a checkpoint folder (config.json, model.safetensors, \
         tokenizer.json, preprocessor_config.json)",
        dir.display()
    )]
    ModelMissing {
        /// The model's folder name.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// The captioning or question-answering checkpoint is not where the settings say (the
    /// catalog has no BLIP yet: its files cannot be pinned from here).
    #[error(
        "model {name} is not installed in {}: put a BLIP checkpoint in the Hugging Face layout \
         there (Salesforce/blip-image-captioning-base for captions, Salesforce/blip-vqa-base for \
         answers: config.json, model.safetensors, tokenizer.json, preprocessor_config.json), or \
         pass --model-dir DIR",
        dir.display()
    )]
    CaptionerMissing {
        /// The model's folder name.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// The Stable Diffusion checkpoint is not where the settings say (the catalog has none
    /// yet: its files cannot be pinned from here).
    #[error(
        "model {name} is not installed in {}: put a Stable Diffusion checkpoint in the diffusers \
         layout there (stabilityai/sd-turbo: text_encoder/, tokenizer/ with the CLIP tokenizer's \
         tokenizer.json, unet/, vae/, scheduler/), or pass --diffusion-dir DIR",
        dir.display()
    )]
    DiffusionMissing {
        /// The model's folder name.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// A sign-in with a wrong name or password.
    #[error("wrong name or password")]
    BadCredentials,
    /// Too many failed sign-ins for a name lately.
    #[error("too many failed sign-ins for this name; try again in 15 minutes")]
    Throttled,
    /// The system's random source or the password hasher failed.
    #[error("random source or password hashing failed: {0}")]
    Random(String),
}

impl From<figment::Error> for Error {
    fn from(e: figment::Error) -> Self {
        Self::Settings(Box::new(e))
    }
}

impl Error {
    /// Whether the error passes by itself: the store is unavailable (locked by another
    /// program, its file unreachable) or the data directory could not be written just now.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Library(e) | Self::Indexer(shoebox_indexer::Error::Store(e)) => {
                matches!(e, shoebox_core::Error::Unavailable { .. })
            }
            Self::Store(e) => e.is_transient(),
            Self::Io(_) => true,
            _ => false,
        }
    }
}

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
