//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Shoebox: semantic search for the photos on your own server.
#[derive(Debug, Parser)]
#[command(name = "shoebox", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    /// More logging on stderr (-v, -vv, -vvv); SHOEBOX_LOG takes a full filter.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Settings file (default: $XDG_CONFIG_HOME/shoebox/config.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Data directory for the database and thumbnails (default: $XDG_DATA_HOME/shoebox).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Add folders as library roots (if new) and scan them once; with no folder, scan every root.
    Index {
        /// Photo folders.
        paths: Vec<PathBuf>,
        /// Read files that failed before again, even when unchanged.
        #[arg(long)]
        retry_failed: bool,
        /// Only scan; do not compute CLIP embeddings.
        #[arg(long)]
        no_embed: bool,
        /// Do not caption photos (see `[captions]` in the settings).
        #[arg(long)]
        no_caption: bool,
        #[command(flatten)]
        model: ModelArgs,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Keep the library current while it runs: scan every root (adding FOLDERS as roots), then
    /// follow changes (notifications, or polling) through every stage; Ctrl-C stops it.
    Watch {
        /// Photo folders to add as roots.
        paths: Vec<PathBuf>,
        /// Do not caption photos (see `[captions]` in the settings).
        #[arg(long)]
        no_caption: bool,
        /// Poll every root instead of using the system's notifications.
        #[arg(long)]
        poll: bool,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Serve the web API (and keep the library current, as `watch` does) until Ctrl-C.
    Serve {
        /// Photo folders to add as roots.
        paths: Vec<PathBuf>,
        /// Address to listen on; put a TLS reverse proxy in front to serve beyond this host.
        #[arg(long, default_value = "127.0.0.1:8080", env = "SHOEBOX_LISTEN")]
        listen: std::net::SocketAddr,
        /// Do not caption photos (see `[captions]` in the settings).
        #[arg(long)]
        no_caption: bool,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// "More like this": Stable Diffusion variations of a photo (img2img), written into the
    /// data directory's `generated` folder, indexed, and listed. Search shows them with
    /// `--generated included` or `only`.
    Vary {
        /// The photo's id.
        photo: i64,
        #[command(flatten)]
        options: VaryArgs,
    },
    /// Find photos by meaning and by words: `beach -people`, `2:dog + cat`, "a red bicycle".
    Search {
        /// The query; empty lists photos newest first.
        query: String,
        #[command(flatten)]
        options: SearchArgs,
    },
    /// Find photos that look like a photo of the library (by id) or a file.
    Similar {
        /// A photo id, or an image file.
        photo: String,
        #[command(flatten)]
        options: SearchArgs,
    },
    /// Show photo counts by state, failures with their reasons, and folder problems.
    Status {
        /// How many failures to list.
        #[arg(long, default_value_t = 20)]
        failures: u32,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Follow the pipeline: each stage's progress, rate and ETA every second until Ctrl-C.
        #[arg(long, conflicts_with = "json")]
        watch: bool,
        /// Queue the dead jobs (out of attempts) again first, with fresh attempts: after the
        /// cause is fixed (a model replaced, a file repaired).
        #[arg(long)]
        retry: bool,
    },
    /// Show one photo's record.
    Show {
        /// The photo's id.
        id: i64,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print CLIP embeddings of photos and texts, for scripts and for checking other
    /// implementations.
    Embed {
        /// Photo files.
        #[arg(long = "image", value_name = "FILE")]
        images: Vec<PathBuf>,
        /// Texts.
        #[arg(long = "text", value_name = "TEXT")]
        texts: Vec<String>,
        #[command(flatten)]
        model: ModelArgs,
        /// Print the vectors as JSON (otherwise a summary).
        #[arg(long)]
        json: bool,
    },
    /// Rank labels for a photo with zero-shot CLIP (prompt ensembles).
    Classify {
        /// The photo file.
        image: PathBuf,
        /// Comma-separated labels, e.g. "cat,dog,beach".
        #[arg(long, value_delimiter = ',', required = true)]
        labels: Vec<String>,
        /// A prompt template with {} for the label; repeat for an ensemble. Default: CLIP's
        /// 80 ImageNet templates.
        #[arg(long = "template")]
        templates: Vec<String>,
        #[command(flatten)]
        model: ModelArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Describe photos in words (BLIP or PaliGemma captioning).
    Caption {
        /// Photo files.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Language of the captions (ISO 639-1).
        #[arg(long, default_value = "en")]
        lang: String,
        /// Text the caption continues, e.g. "a picture of" (BLIP).
        #[arg(long, default_value = "")]
        prompt: String,
        #[command(flatten)]
        model: ModelArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask a question about a photo, or about each hit of a search (BLIP VQA or PaliGemma).
    Ask {
        /// The question, e.g. "how many people are there?".
        question: String,
        /// The photo file to ask about.
        #[arg(long, value_name = "FILE", required_unless_present = "search")]
        photo: Option<PathBuf>,
        /// Ask about the best hits of this search instead (the CLIP model from the settings).
        #[arg(long, value_name = "QUERY", conflicts_with = "photo")]
        search: Option<String>,
        /// Hits of the search to ask about.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Language of the answer (ISO 639-1).
        #[arg(long, default_value = "en")]
        lang: String,
        #[command(flatten)]
        model: ModelArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure a model: zero-shot accuracy or retrieval recall.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
        #[command(flatten)]
        model: ModelArgs,
        /// Print as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Smart albums: photos like one or more prompts, kept current as photos come and go.
    Albums {
        #[command(subcommand)]
        command: AlbumsCommand,
    },
    /// Manage library roots.
    Roots {
        #[command(subcommand)]
        command: RootsCommand,
    },
    /// List, download and check models.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelsCommand {
    /// The models Shoebox knows, whether each is installed, and which is in use.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download a model from the hub at its pinned revision, checking every file's SHA-256
    /// (resumes; skips files already installed).
    Pull {
        /// The model's name (default: the one `[models] clip` names).
        name: Option<String>,
    },
    /// Check an installed model's files against their pinned SHA-256.
    Verify {
        /// The model's name (default: the one `[models] clip` names).
        name: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Filters, order and output of `search` and `similar`.
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Hits per page.
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
    /// Taken on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub(crate) since: Option<String>,
    /// Taken on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub(crate) until: Option<String>,
    /// Only photos in this folder (or below); repeat for several.
    #[arg(long = "folder", value_name = "DIR")]
    pub(crate) folders: Vec<PathBuf>,
    /// Only photos with this tag; repeat to require several.
    #[arg(long = "tag")]
    pub(crate) tags: Vec<String>,
    /// Only photos from a camera whose make and model contain these words.
    #[arg(long)]
    pub(crate) camera: Option<String>,
    /// Order of the hits.
    #[arg(long, value_enum, default_value_t = Sort::Relevance)]
    pub(crate) sort: Sort,
    /// Continue after the page that printed this cursor.
    #[arg(long)]
    pub(crate) cursor: Option<String>,
    /// Show each source's rank and score (CLIP similarity, text BM25).
    #[arg(long)]
    pub(crate) explain: bool,
    /// Photos Stable Diffusion made (`shoebox vary`): left out unless asked.
    #[arg(long, value_enum, default_value_t = Generated::Hidden)]
    pub(crate) generated: Generated,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) model: ModelArgs,
}

/// What `shoebox vary` asks for; anything left out takes `[vary]`'s default.
#[derive(Debug, Args)]
pub(crate) struct VaryArgs {
    /// What the variations should show (default: the photo's caption).
    #[arg(long)]
    pub(crate) prompt: Option<String>,
    /// What they should not show (with guidance above 1).
    #[arg(long)]
    pub(crate) negative_prompt: Option<String>,
    /// How far from the photo: 0 keeps it, 1 ignores it.
    #[arg(long)]
    pub(crate) strength: Option<f64>,
    /// Sampler steps over the whole schedule (steps × strength of them run).
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// Classifier-free guidance scale (1 or less: off).
    #[arg(long)]
    pub(crate) guidance: Option<f64>,
    /// The first variation's seed (the next ones count up; default: random).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// How many variations.
    #[arg(long)]
    pub(crate) count: Option<usize>,
    /// Output width in pixels (a multiple of 64; with --height).
    #[arg(long, requires = "height")]
    pub(crate) width: Option<u32>,
    /// Output height in pixels (a multiple of 64; with --width).
    #[arg(long, requires = "width")]
    pub(crate) height: Option<u32>,
    /// A Stable Diffusion checkpoint folder (diffusers layout) instead of `[vary] model`.
    #[arg(long, value_name = "DIR")]
    pub(crate) diffusion_dir: Option<PathBuf>,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) model: ModelArgs,
}

/// `--generated`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Generated {
    /// Leave them out.
    Hidden,
    /// Show them with the others.
    Included,
    /// Show only them.
    Only,
}

/// `--sort`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Sort {
    /// Best match first.
    Relevance,
    /// Newest first.
    Date,
}

/// Which model checkpoint to use.
#[derive(Debug, Args)]
pub(crate) struct ModelArgs {
    /// A checkpoint folder to load instead of the configured model.
    #[arg(long, value_name = "DIR", global = true)]
    pub(crate) model_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EvalCommand {
    /// Top-1 / top-5 accuracy over DIR/LABEL/* photos (folder name = label, `_` = space).
    ZeroShot {
        /// Folder with one sub-folder per class.
        dir: PathBuf,
        /// Prompt templates with {}; default: CLIP's 80 ImageNet templates.
        #[arg(long = "template")]
        templates: Vec<String>,
    },
    /// Image→text and text→image recall@1/5/10 over `IMAGE<TAB>CAPTION` lines.
    Retrieval {
        /// The captions file (image paths relative to it).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AlbumsCommand {
    /// Create an album, or redefine it; with a CLIP model, fills it right away.
    Add {
        /// Its name.
        name: String,
        /// What its photos show (repeat for several: a photo is compared with their mean).
        #[arg(long = "prompt", required = true, value_name = "TEXT")]
        prompts: Vec<String>,
        /// The CLIP cosine similarity a photo needs (for ViT-B/32 a good match is 0.25–0.35).
        #[arg(long, default_value_t = 0.25, allow_negative_numbers = true)]
        threshold: f32,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// List albums with their size.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// An album's photos, best first.
    Show {
        /// Its name.
        name: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an album (its photos are not touched).
    Remove {
        /// Its name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RootsCommand {
    /// Add folders as library roots (without scanning).
    Add {
        /// Photo folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List library roots.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a root and every record under it (the photos on disk are not touched).
    Remove {
        /// The root's id or path.
        root: String,
    },
}
