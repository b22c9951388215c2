//! Shoebox's composition root: it reads the settings, opens the data directory, wires the
//! store and the indexer together, and offers the operations the CLI (and later the server
//! and web UI) call. Nothing above this crate touches an adapter directly.

mod accounts;
mod albums;
mod answers;
mod batch;
mod captions;
mod catalog;
mod embed;
mod engine;
mod error;
mod eval;
mod generations;
mod health;
mod indices;
mod input;
mod jobs;
mod live;
mod models;
mod offered;
mod paths;
mod progress;
mod queries;
mod search;
mod serving;
mod settings;
mod tags;
mod throttle;
mod vary;

pub use accounts::{
    NewSession, SESSION_COOKIE, account_name, session_cookie, session_token, token_hash,
};
pub use albums::AlbumSummary;
pub use answers::{AnswerSummary, PhotoAnswer};
pub use captions::{CaptionSettings, CaptionSummary};
pub use catalog::{FileReport, ModelStatus};
pub use engine::Engine;
pub use error::{Error, Result};
pub use eval::{ClassReport, RetrievalReport, ZeroShotReport};
pub use generations::{Generations, JobState, JobStatus};
pub use health::Degraded;
pub use indices::EmbedSummary;
pub use input::one_line;
pub use live::{LiveEvent, LiveModels, Pass};
pub use paths::DataDir;
pub use progress::{Progress, Rates, StageProgress, StageRate};
pub use queries::SimilarTo;
pub use search::{
    Explain, SearchForm, SearchHit, SearchIndices, SearchPage, SearchRequest, SearchSettings,
    SortOrder, SourceScore, search, similar,
};
pub use serving::LiveSearch;
pub use settings::{JobSettings, ModelSettings, Override, Settings, StorageSettings};
pub use shoebox_indexer::{
    IndexerSettings, Method as WatchMethod, ScanProgress, ScanSummary, ThumbnailSettings,
    WatchMode, WatchSettings, decode_pixels, thumbnail_path,
};
pub use shoebox_ml::Error as ModelError;
pub use shoebox_ml::{
    Clip, DownloadProgress, Family, ImageToText, Prediction, StableDiffusion, Variation,
};
pub use tags::{TagCount, TagSettings, TagSummary};
pub use vary::{Varied, VaryPlan, VaryRequest, VarySettings};
