//! Stable Diffusion's VAE (`AutoencoderKL`), put together from candle's encoder and decoder
//! blocks: images in `[-1, 1]` to latents (the posterior's mode, so a seed alone decides a
//! run) and back.

use candle_core::{Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, GroupNorm, Module, VarBuilder};
use candle_transformers::models::stable_diffusion::unet_2d_blocks::{
    DownEncoderBlock2D, DownEncoderBlock2DConfig, UNetMidBlock2D, UNetMidBlock2DConfig,
    UpDecoderBlock2D, UpDecoderBlock2DConfig,
};

use super::config::VaeFile;

/// The VAE's norms' epsilon (fixed in diffusers).
const EPS: f64 = 1e-6;

#[derive(Debug)]
pub(crate) struct Vae {
    encoder: Coder<DownEncoderBlock2D>,
    decoder: Coder<UpDecoderBlock2D>,
    quant_conv: Option<Conv2d>,
    post_quant_conv: Option<Conv2d>,
    latent_channels: usize,
    scaling: f64,
}

/// One half: a convolution in, blocks, the middle block (before the blocks when decoding),
/// a norm and a convolution out.
#[derive(Debug)]
struct Coder<B> {
    conv_in: Conv2d,
    blocks: Vec<B>,
    mid: UNetMidBlock2D,
    mid_first: bool,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

fn conv3(vb: VarBuilder, c_in: usize, c_out: usize) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        padding: 1,
        ..Conv2dConfig::default()
    };
    candle_nn::conv2d(c_in, c_out, 3, cfg, vb)
}

fn mid(vb: VarBuilder, channels: usize, groups: usize) -> Result<UNetMidBlock2D> {
    let cfg = UNetMidBlock2DConfig {
        resnet_eps: EPS,
        output_scale_factor: 1.,
        attn_num_head_channels: None,
        resnet_groups: Some(groups),
        ..UNetMidBlock2DConfig::default()
    };
    UNetMidBlock2D::new(vb, channels, None, cfg)
}

impl<B: Module> Coder<B> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.conv_in.forward(x)?;
        if self.mid_first {
            x = self.mid.forward(&x, None)?;
        }
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        if !self.mid_first {
            x = self.mid.forward(&x, None)?;
        }
        let x = candle_nn::ops::silu(&self.norm_out.forward(&x)?)?;
        self.conv_out.forward(&x)
    }
}

impl Vae {
    pub(crate) fn load(vb: &VarBuilder, c: &VaeFile) -> Result<Self> {
        let channels = &c.block_out_channels;
        let (first, last) = (channels[0], channels[channels.len() - 1]);
        let groups = c.norm_num_groups;
        let latent = c.latent_channels;

        let e = vb.pp("encoder");
        let blocks = channels
            .iter()
            .enumerate()
            .map(|(i, &out)| {
                let cfg = DownEncoderBlock2DConfig {
                    num_layers: c.layers_per_block,
                    resnet_eps: EPS,
                    resnet_groups: groups,
                    add_downsample: i + 1 < channels.len(),
                    downsample_padding: 0,
                    ..DownEncoderBlock2DConfig::default()
                };
                let input = if i == 0 { first } else { channels[i - 1] };
                DownEncoderBlock2D::new(e.pp("down_blocks").pp(i), input, out, cfg)
            })
            .collect::<Result<Vec<_>>>()?;
        let encoder = Coder {
            conv_in: conv3(e.pp("conv_in"), c.in_channels, first)?,
            blocks,
            mid: mid(e.pp("mid_block"), last, groups)?,
            mid_first: false,
            norm_out: candle_nn::group_norm(groups, last, EPS, e.pp("conv_norm_out"))?,
            conv_out: conv3(e.pp("conv_out"), last, 2 * latent)?,
        };

        let d = vb.pp("decoder");
        let reversed: Vec<usize> = channels.iter().rev().copied().collect();
        let blocks = reversed
            .iter()
            .enumerate()
            .map(|(i, &out)| {
                let cfg = UpDecoderBlock2DConfig {
                    num_layers: c.layers_per_block + 1,
                    resnet_eps: EPS,
                    resnet_groups: groups,
                    add_upsample: i + 1 < reversed.len(),
                    ..UpDecoderBlock2DConfig::default()
                };
                let input = if i == 0 { last } else { reversed[i - 1] };
                UpDecoderBlock2D::new(d.pp("up_blocks").pp(i), input, out, cfg)
            })
            .collect::<Result<Vec<_>>>()?;
        let decoder = Coder {
            conv_in: conv3(d.pp("conv_in"), latent, last)?,
            blocks,
            mid: mid(d.pp("mid_block"), last, groups)?,
            mid_first: true,
            norm_out: candle_nn::group_norm(groups, first, EPS, d.pp("conv_norm_out"))?,
            conv_out: conv3(d.pp("conv_out"), first, c.out_channels)?,
        };
        let one_by_one =
            |name: &str, n: usize| candle_nn::conv2d(n, n, 1, Conv2dConfig::default(), vb.pp(name));
        Ok(Self {
            encoder,
            decoder,
            quant_conv: c
                .use_quant_conv
                .then(|| one_by_one("quant_conv", 2 * latent))
                .transpose()?,
            post_quant_conv: c
                .use_post_quant_conv
                .then(|| one_by_one("post_quant_conv", latent))
                .transpose()?,
            latent_channels: latent,
            scaling: c.scaling_factor,
        })
    }

    /// Images `[B, 3, H, W]` in `[-1, 1]` → scaled latents (the posterior's mean).
    pub(crate) fn encode(&self, images: &Tensor) -> Result<Tensor> {
        let mut moments = self.encoder.forward(images)?;
        if let Some(conv) = &self.quant_conv {
            moments = conv.forward(&moments)?;
        }
        moments.narrow(1, 0, self.latent_channels)? * self.scaling
    }

    /// Scaled latents → images `[B, 3, H, W]` in `[0, 1]`.
    pub(crate) fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        let mut x = (latents / self.scaling)?;
        if let Some(conv) = &self.post_quant_conv {
            x = conv.forward(&x)?;
        }
        let images = self.decoder.forward(&x)?;
        ((images / 2.0)? + 0.5)?.clamp(0f32, 1f32)
    }
}
