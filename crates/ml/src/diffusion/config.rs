//! A Stable Diffusion checkpoint's configuration files in the diffusers layout
//! (`unet/config.json`, `vae/config.json`, `scheduler/scheduler_config.json`,
//! `tokenizer/tokenizer_config.json`), read into the shapes candle's blocks take. Every SD 1.x /
//! 2.x variant (SD 1.5, SD 2.1, SD-Turbo) is read from its files; what the implementation does
//! not do (SDXL's added embeddings, class embeddings, other block types) is refused by name.

use candle_transformers::models::stable_diffusion::unet_2d::{
    BlockConfig, UNet2DConditionModelConfig,
};
use serde::Deserialize;

use crate::{Error, Result};

/// A value diffusers writes either once or per block.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum PerBlock {
    One(usize),
    Each(Vec<usize>),
}

impl PerBlock {
    fn at(&self, block: usize) -> Result<usize> {
        match self {
            Self::One(v) => Ok(*v),
            Self::Each(v) => v.get(block).copied().ok_or_else(|| {
                Error::Unsupported(format!("a per-block value has no entry for block {block}"))
            }),
        }
    }
}

/// `unet/config.json` (`UNet2DConditionModel`).
#[derive(Debug, Deserialize)]
pub(crate) struct UNetFile {
    #[serde(default = "four")]
    pub(crate) in_channels: usize,
    #[serde(default = "four")]
    pub(crate) out_channels: usize,
    block_out_channels: Vec<usize>,
    down_block_types: Vec<String>,
    up_block_types: Vec<String>,
    #[serde(default = "mid_block_type")]
    mid_block_type: Option<String>,
    #[serde(default = "two")]
    layers_per_block: usize,
    attention_head_dim: PerBlock,
    #[serde(default)]
    num_attention_heads: Option<PerBlock>,
    cross_attention_dim: usize,
    #[serde(default)]
    use_linear_projection: bool,
    #[serde(default = "transformer_layers")]
    transformer_layers_per_block: PerBlock,
    #[serde(default = "one")]
    downsample_padding: usize,
    #[serde(default = "one_f")]
    mid_block_scale_factor: f64,
    #[serde(default = "groups")]
    norm_num_groups: usize,
    #[serde(default = "unet_eps")]
    norm_eps: f64,
    #[serde(default = "yes")]
    flip_sin_to_cos: bool,
    #[serde(default)]
    freq_shift: f64,
    #[serde(default)]
    center_input_sample: bool,
    #[serde(default = "silu")]
    act_fn: String,
    #[serde(default)]
    class_embed_type: Option<String>,
    #[serde(default)]
    addition_embed_type: Option<String>,
}

impl UNetFile {
    /// candle's UNet configuration, after checking the file asks for nothing else.
    pub(crate) fn parse(&self) -> Result<UNet2DConditionModelConfig> {
        let refuse = |what: String| Err(Error::Unsupported(format!("unet: {what}")));
        if let Some(kind) = self
            .addition_embed_type
            .as_ref()
            .or(self.class_embed_type.as_ref())
        {
            return refuse(format!(
                "added or class embeddings ({kind}: SDXL and others)"
            ));
        }
        if self.act_fn != "silu" {
            return refuse(format!("activation {}", self.act_fn));
        }
        if self.mid_block_type.as_deref() != Some("UNetMidBlock2DCrossAttn") {
            return refuse(format!("middle block {:?}", self.mid_block_type));
        }
        let n = self.block_out_channels.len();
        if self.down_block_types.len() != n || self.up_block_types.len() != n || n == 0 {
            return refuse("block lists of different lengths".to_owned());
        }
        let mut blocks = Vec::with_capacity(n);
        for (i, (down, up)) in self
            .down_block_types
            .iter()
            .zip(self.up_block_types.iter().rev())
            .enumerate()
        {
            let cross = match (down.as_str(), up.as_str()) {
                ("CrossAttnDownBlock2D", "CrossAttnUpBlock2D") => true,
                ("DownBlock2D", "UpBlock2D") => false,
                _ => return refuse(format!("blocks {down} / {up}")),
            };
            // diffusers' `attention_head_dim` is the number of heads in SD 1.x / 2.x (its
            // own comment says so); `num_attention_heads` wins where given.
            let heads = match &self.num_attention_heads {
                Some(heads) => heads.at(i)?,
                None => self.attention_head_dim.at(i)?,
            };
            let out_channels = self.block_out_channels[i];
            if heads == 0 || !out_channels.is_multiple_of(heads) {
                return refuse(format!("{out_channels} channels in {heads} heads"));
            }
            if !out_channels.is_multiple_of(self.norm_num_groups) {
                return refuse(format!(
                    "{out_channels} channels in {} groups",
                    self.norm_num_groups
                ));
            }
            blocks.push(BlockConfig {
                out_channels,
                use_cross_attn: cross
                    .then(|| self.transformer_layers_per_block.at(i))
                    .transpose()?,
                attention_head_dim: heads,
            });
        }
        Ok(UNet2DConditionModelConfig {
            center_input_sample: self.center_input_sample,
            flip_sin_to_cos: self.flip_sin_to_cos,
            freq_shift: self.freq_shift,
            blocks,
            layers_per_block: self.layers_per_block,
            downsample_padding: self.downsample_padding,
            mid_block_scale_factor: self.mid_block_scale_factor,
            norm_num_groups: self.norm_num_groups,
            norm_eps: self.norm_eps,
            cross_attention_dim: self.cross_attention_dim,
            sliced_attention_size: None,
            use_linear_projection: self.use_linear_projection,
        })
    }
}

/// `vae/config.json` (`AutoencoderKL`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VaeFile {
    #[serde(default = "three")]
    pub(crate) in_channels: usize,
    #[serde(default = "three")]
    pub(crate) out_channels: usize,
    pub(crate) block_out_channels: Vec<usize>,
    #[serde(default = "one")]
    pub(crate) layers_per_block: usize,
    #[serde(default = "four")]
    pub(crate) latent_channels: usize,
    #[serde(default = "groups")]
    pub(crate) norm_num_groups: usize,
    #[serde(default = "sd_scaling")]
    pub(crate) scaling_factor: f64,
    #[serde(default)]
    shift_factor: Option<f64>,
    #[serde(default = "yes")]
    pub(crate) use_quant_conv: bool,
    #[serde(default = "yes")]
    pub(crate) use_post_quant_conv: bool,
    #[serde(default = "yes")]
    mid_block_add_attention: bool,
    down_block_types: Vec<String>,
    up_block_types: Vec<String>,
}

impl VaeFile {
    /// Checks the file asks for the blocks SD's VAE has, and no more.
    pub(crate) fn check(&self) -> Result<()> {
        let refuse = |what: String| Err(Error::Unsupported(format!("vae: {what}")));
        let n = self.block_out_channels.len();
        if n == 0
            || self.down_block_types.len() != n
            || self.up_block_types.len() != n
            || self
                .down_block_types
                .iter()
                .any(|t| t != "DownEncoderBlock2D")
            || self.up_block_types.iter().any(|t| t != "UpDecoderBlock2D")
        {
            return refuse(format!(
                "blocks {:?} / {:?}",
                self.down_block_types, self.up_block_types
            ));
        }
        if self.shift_factor.is_some_and(|s| s != 0.0) {
            return refuse("a latent shift factor (SD 3 and later)".to_owned());
        }
        if !self.mid_block_add_attention {
            return refuse("a middle block without attention".to_owned());
        }
        if let Some(c) = self
            .block_out_channels
            .iter()
            .find(|c| !c.is_multiple_of(self.norm_num_groups))
        {
            return refuse(format!("{c} channels in {} groups", self.norm_num_groups));
        }
        Ok(())
    }

    /// How many pixels one latent covers along each side.
    pub(crate) fn factor(&self) -> usize {
        1 << (self.block_out_channels.len() - 1)
    }
}

/// `scheduler/scheduler_config.json`: the training noise schedule, which every scheduler of
/// diffusers shares. Shoebox samples with the Euler method whatever `_class_name` says.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SchedulerFile {
    #[serde(default = "beta_start")]
    pub(crate) beta_start: f64,
    #[serde(default = "beta_end")]
    pub(crate) beta_end: f64,
    #[serde(default = "linear")]
    pub(crate) beta_schedule: String,
    #[serde(default = "thousand")]
    pub(crate) num_train_timesteps: usize,
    #[serde(default = "epsilon")]
    pub(crate) prediction_type: String,
    #[serde(default = "linspace")]
    pub(crate) timestep_spacing: String,
    #[serde(default)]
    pub(crate) steps_offset: usize,
    #[serde(default)]
    trained_betas: Option<Vec<f64>>,
    #[serde(default)]
    rescale_betas_zero_snr: bool,
}

impl SchedulerFile {
    pub(crate) fn check(&self) -> Result<()> {
        let refuse = |what: String| Err(Error::Unsupported(format!("scheduler: {what}")));
        if self.trained_betas.is_some() || self.rescale_betas_zero_snr {
            return refuse("trained or rescaled betas".to_owned());
        }
        if self.num_train_timesteps == 0 {
            return refuse("no training timesteps".to_owned());
        }
        Ok(())
    }
}

/// `tokenizer/tokenizer_config.json`, for its padding token (SD 2.x pads with "!", SD 1.x with
/// the end-of-text token).
#[derive(Debug, Deserialize)]
pub(crate) struct TokenizerFile {
    pad_token: Option<Token>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Token {
    Plain(String),
    Added { content: String },
}

impl TokenizerFile {
    /// The padding token's text, if the file names one.
    pub(crate) fn pad(&self) -> Option<&str> {
        self.pad_token.as_ref().map(|t| match t {
            Token::Plain(s) | Token::Added { content: s } => s.as_str(),
        })
    }
}

fn one() -> usize {
    1
}
fn two() -> usize {
    2
}
fn three() -> usize {
    3
}
fn four() -> usize {
    4
}
fn groups() -> usize {
    32
}
fn thousand() -> usize {
    1000
}
fn one_f() -> f64 {
    1.0
}
fn unet_eps() -> f64 {
    1e-5
}
fn sd_scaling() -> f64 {
    0.18215
}
fn beta_start() -> f64 {
    0.0001
}
fn beta_end() -> f64 {
    0.02
}
fn yes() -> bool {
    true
}
fn transformer_layers() -> PerBlock {
    PerBlock::One(1)
}
fn mid_block_type() -> Option<String> {
    Some("UNetMidBlock2DCrossAttn".to_owned())
}
fn silu() -> String {
    "silu".to_owned()
}
fn linear() -> String {
    "linear".to_owned()
}
fn epsilon() -> String {
    "epsilon".to_owned()
}
fn linspace() -> String {
    "linspace".to_owned()
}
