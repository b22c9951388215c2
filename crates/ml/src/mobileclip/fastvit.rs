//! FastViT MCi (Vasu et al. 2023, <https://arxiv.org/abs/2303.14189>), MobileCLIP's image tower,
//! from timm's training-form weights (`visual.trunk.*` of the `apple/MobileCLIP-*-OpenCLIP`
//! checkpoints), reparameterised at load: every MobileOne block's branches (k×k and 1×1
//! convolutions with batch norms, an identity batch norm) become one convolution, and each
//! RepMixer (`x + γ·(mixer(x) − norm(x))`) becomes one depthwise convolution.
//!
//! Our own rather than candle-transformers' `fastvit`: that one's attention feeds a transposed
//! view to a linear layer, which candle 0.11.1's CPU matmul gets wrong (see the parity test),
//! and it skips any branch whose weights are missing instead of failing.

use candle_core::{D, DType, Module, ModuleT, Result, Tensor};
use candle_nn::{BatchNorm, Conv2d, Conv2dConfig, VarBuilder};

use crate::kernels::grouped_conv::conv2d;
use crate::nn::{Activation, Linear, attend};

/// Attention head width in the last stage (timm's default).
const HEAD_DIM: usize = 32;
const BN_EPS: f64 = 1e-5;

/// Widths and depths, read from the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    /// Width of the first stage; stage `i` is `width << i` wide.
    pub(crate) width: usize,
    /// Blocks per stage.
    pub(crate) blocks: [usize; 4],
    /// Hidden width of the blocks' MLPs over their width.
    pub(crate) mlp_ratio: usize,
    /// Output width of the head (the image embedding).
    pub(crate) embed: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct FastVit {
    stem: [Conv; 3],
    stages: Vec<Stage>,
    final_conv: Conv,
    head: Linear,
}

/// A (reparameterised) convolution, an optional squeeze-excite, an optional GELU.
#[derive(Debug, Clone)]
struct Conv {
    conv: Conv2d,
    se: Option<SqueezeExcite>,
    act: bool,
}

#[derive(Debug, Clone)]
struct SqueezeExcite {
    fc1: Conv2d,
    fc2: Conv2d,
}

#[derive(Debug, Clone)]
struct Stage {
    /// Large- and small-kernel strided convolutions (summed), then a 1×1 MobileOne block.
    downsample: Option<(Conv, Conv)>,
    /// Conditional positional encoding: `x + dwconv7×7(x)`.
    pos_emb: Option<Conv2d>,
    blocks: Vec<Block>,
}

/// A token mixer, then `x + γ·mlp(x)`.
#[derive(Debug, Clone)]
struct Block {
    mixer: Mixer,
    mlp: ConvMlp,
    gamma: Tensor,
}

#[derive(Debug, Clone)]
enum Mixer {
    /// RepMixer, reparameterised: `x + γ·(mixer(x) − norm(x))` as one depthwise convolution.
    Conv(Conv2d),
    /// `x + γ·attention(BN(x))` over the `H·W` positions as tokens.
    Attention(Box<Attention>),
}

#[derive(Debug, Clone)]
struct Attention {
    norm: BatchNorm,
    qkv: Linear,
    proj: Linear,
    heads: usize,
    gamma: Tensor,
}

#[derive(Debug, Clone)]
/// A depthwise 7×7 convolution, then the 1×1 expansion and projection as linear layers over
/// the positions (the packed matrix product, GELU fused), not as convolutions.
struct ConvMlp {
    conv: Conv2d,
    fc1: Linear,
    fc2: Linear,
}

impl FastVit {
    /// `vb`: the trunk's prefix (`visual.trunk`).
    pub(crate) fn load(vb: &VarBuilder, c: &Config) -> Result<Self> {
        let w = c.width;
        let stem = vb.pp("stem");
        let stem = [
            mobileone(&stem.pp("0"), 3, w, 3, 2, 1, true)?,
            mobileone(&stem.pp("1"), w, w, 3, 2, w, true)?,
            mobileone(&stem.pp("2"), w, w, 1, 1, 1, true)?,
        ];
        let stages = (0..4)
            .map(|i| Stage::load(&vb.pp(format!("stages.{i}")), c, i))
            .collect::<Result<_>>()?;
        let last = w << 3;
        Ok(Self {
            stem,
            stages,
            final_conv: mobileone(&vb.pp("final_conv"), last, 2 * last, 3, 1, last, true)?,
            head: Linear::load(&vb.pp("head.fc"), 2 * last, c.embed, true)?,
        })
    }

    /// `pixels`: `[B, 3, H, W]` → `[B, embed]` (unnormalised).
    pub(crate) fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let mut x = pixels.clone();
        for conv in &self.stem {
            x = conv.forward(&x)?;
        }
        for stage in &self.stages {
            x = stage.forward(&x)?;
        }
        let x = self.final_conv.forward(&x)?;
        self.head.forward(&x.mean(D::Minus1)?.mean(D::Minus1)?)
    }
}

impl Stage {
    fn load(vb: &VarBuilder, c: &Config, i: usize) -> Result<Self> {
        let dim = c.width << i;
        let downsample = if i == 0 {
            None
        } else {
            let proj = vb.pp("downsample.proj");
            let large = proj.pp("0");
            let (prev, groups) = (dim / 2, dim / 2);
            let lk = conv_bn(&large.pp("large_conv"), prev, dim, 7, 2, groups)?;
            let sk = conv_bn(&large.pp("small_conv"), prev, dim, 3, 2, groups)?;
            // The two branches summed: one 7×7 convolution (the 3×3 padded into its centre).
            let weight = (lk.weight()
                + sk.weight()
                    .pad_with_zeros(2, 2, 2)?
                    .pad_with_zeros(3, 2, 2)?)?;
            let bias = match (lk.bias(), sk.bias()) {
                (Some(a), Some(b)) => (a + b)?,
                _ => candle_core::bail!("fused convolutions have biases"),
            };
            let conv = Conv {
                conv: Conv2d::new(weight, Some(bias), *lk.config()),
                se: squeeze_excite(&large.pp("se"), dim)?,
                act: true,
            };
            Some((conv, mobileone(&proj.pp("1"), dim, dim, 1, 1, 1, true)?))
        };
        let pos_emb = if vb.contains_tensor("pos_emb.pos_enc.weight") {
            let pe = vb.pp("pos_emb.pos_enc");
            let config = conv_config(7, 1, dim);
            Some(Conv2d::new(
                pe.get((dim, 1, 7, 7), "weight")?,
                Some(pe.get(dim, "bias")?),
                config,
            ))
        } else {
            None
        };
        let blocks = (0..c.blocks[i])
            .map(|b| Block::load(&vb.pp(format!("blocks.{b}")), dim, c.mlp_ratio))
            .collect::<Result<_>>()?;
        Ok(Self {
            downsample,
            pos_emb,
            blocks,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        if let Some((large, proj)) = &self.downsample {
            x = proj.forward(&large.forward(&x)?)?;
        }
        if let Some(pos) = &self.pos_emb {
            x = (&x + conv2d(pos, &x)?)?;
        }
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        Ok(x)
    }
}

impl Block {
    fn load(vb: &VarBuilder, dim: usize, ratio: usize) -> Result<Self> {
        let tm = vb.pp("token_mixer");
        let (mixer, gamma) = if tm.contains_tensor("qkv.weight") {
            let attention = Attention {
                norm: candle_nn::batch_norm(dim, BN_EPS, vb.pp("norm"))?,
                qkv: Linear::load(&tm.pp("qkv"), dim, 3 * dim, false)?,
                proj: Linear::load(&tm.pp("proj"), dim, dim, true)?,
                heads: dim / HEAD_DIM,
                gamma: vb.get((dim, 1, 1), "layer_scale_1.gamma")?,
            };
            let gamma = vb.get((dim, 1, 1), "layer_scale_2.gamma")?;
            (Mixer::Attention(Box::new(attention)), gamma)
        } else {
            (
                Mixer::Conv(repmixer(&tm, dim)?),
                vb.get((dim, 1, 1), "layer_scale.gamma")?,
            )
        };
        Ok(Self {
            mixer,
            mlp: ConvMlp::load(&vb.pp("mlp"), dim, ratio)?,
            gamma,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = match &self.mixer {
            Mixer::Conv(conv) => conv2d(conv, x)?,
            Mixer::Attention(attention) => (x + attention.forward(x)?)?,
        };
        &x + self.mlp.forward(&x)?.broadcast_mul(&self.gamma)?
    }
}

/// RepMixer's `x + γ·(mixer(x) − norm(x))` as one convolution: identity + γ·(W_mixer − W_norm).
fn repmixer(tm: &VarBuilder, dim: usize) -> Result<Conv2d> {
    let mixer = mobileone(&tm.pp("mixer"), dim, dim, 3, 1, dim, false)?.conv;
    let norm = mobileone(&tm.pp("norm"), dim, dim, 3, 1, dim, false)?.conv;
    let gamma = tm
        .get((dim, 1, 1), "layer_scale.gamma")?
        .reshape((dim, 1, 1, 1))?;
    let weight = (identity_kernel(dim, 1, 3, tm.device())?
        + (mixer.weight() - norm.weight())?.broadcast_mul(&gamma)?)?;
    let bias = match (mixer.bias(), norm.bias()) {
        (Some(a), Some(b)) => ((a - b)? * gamma.flatten_all()?)?,
        _ => candle_core::bail!("fused convolutions have biases"),
    };
    Ok(Conv2d::new(weight, Some(bias), conv_config(3, 1, dim)))
}

impl Attention {
    /// `γ·attention(BN(x))` for `x`: `[B, C, H, W]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let n = h * w;
        let head = c / self.heads;
        // Contiguous token rows: candle 0.11's CPU matmul mis-multiplies a transposed view.
        let tokens = self
            .norm
            .forward_t(x, false)?
            .flatten_from(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let qkv = self
            .qkv
            .forward(&tokens)?
            .reshape((b, n, 3, self.heads, head))?
            .permute((2, 0, 3, 1, 4))?;
        let q = (qkv.get(0)?.contiguous()? * (head as f64).powf(-0.5))?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let attended = self.proj.forward(&attend(&q, &k, &v, None)?)?;
        attended
            .transpose(1, 2)?
            .reshape((b, c, h, w))?
            .broadcast_mul(&self.gamma)
    }
}

impl ConvMlp {
    fn load(vb: &VarBuilder, dim: usize, ratio: usize) -> Result<Self> {
        let hidden = dim * ratio;
        let pointwise = |name: &str, cin: usize, cout: usize| -> Result<Linear> {
            let vb = vb.pp(name);
            Linear::from_parts(
                vb.get((cout, cin, 1, 1), "weight")?.reshape((cout, cin))?,
                Some(vb.get(cout, "bias")?),
            )
        };
        Ok(Self {
            conv: conv_bn(&vb.pp("conv"), dim, dim, 7, 1, dim)?,
            fc1: pointwise("fc1", dim, hidden)?,
            fc2: pointwise("fc2", hidden, dim)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let tokens = conv2d(&self.conv, x)?
            .flatten_from(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let hidden = self.fc1.forward_activated(&tokens, Activation::Gelu)?;
        self.fc2
            .forward(&hidden)?
            .transpose(1, 2)?
            .reshape((b, c, h, w))
    }
}

impl Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = conv2d(&self.conv, x)?;
        if let Some(se) = &self.se {
            x = se.forward(&x)?;
        }
        if self.act {
            x = x.gelu_erf()?;
        }
        Ok(x)
    }
}

impl SqueezeExcite {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = x.mean_keepdim(D::Minus1)?.mean_keepdim(D::Minus2)?;
        let s = candle_nn::ops::sigmoid(&self.fc2.forward(&self.fc1.forward(&s)?.relu()?)?)?;
        x.broadcast_mul(&s)
    }
}

/// A squeeze-excite under `vb` when the checkpoint has one (its reduced width as stored).
fn squeeze_excite(vb: &VarBuilder, dim: usize) -> Result<Option<SqueezeExcite>> {
    if !vb.contains_tensor("fc1.weight") {
        return Ok(None);
    }
    let reduced = vb.get_unchecked("fc1.weight")?.dim(0)?;
    let one = Conv2dConfig::default();
    Ok(Some(SqueezeExcite {
        fc1: candle_nn::conv2d(dim, reduced, 1, one, vb.pp("fc1"))?,
        fc2: candle_nn::conv2d(reduced, dim, 1, one, vb.pp("fc2"))?,
    }))
}

fn conv_config(kernel: usize, stride: usize, groups: usize) -> Conv2dConfig {
    Conv2dConfig {
        padding: kernel / 2,
        stride,
        groups,
        ..Conv2dConfig::default()
    }
}

/// A bias-free convolution (`conv.weight`) with its batch norm (`bn`) folded in.
fn conv_bn(
    vb: &VarBuilder,
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    groups: usize,
) -> Result<Conv2d> {
    let weight = vb
        .pp("conv")
        .get((cout, cin / groups, kernel, kernel), "weight")?;
    let (weight, bias) = fold_bn(&weight, &vb.pp("bn"), cout)?;
    Ok(Conv2d::new(
        weight,
        Some(bias),
        conv_config(kernel, stride, groups),
    ))
}

/// `W·γ/σ` and `β − μ·γ/σ` of the batch norm under `vb`.
fn fold_bn(weight: &Tensor, vb: &VarBuilder, dim: usize) -> Result<(Tensor, Tensor)> {
    let gamma = vb.get(dim, "weight")?;
    let beta = vb.get(dim, "bias")?;
    let mean = vb.get(dim, "running_mean")?;
    let sigma = (vb.get(dim, "running_var")? + BN_EPS)?.sqrt()?;
    let scale = (gamma / sigma)?;
    let bias = (beta - (mean * &scale)?)?;
    Ok((weight.broadcast_mul(&scale.reshape((dim, 1, 1, 1))?)?, bias))
}

/// The kernel of `x ↦ x` for a convolution with `groups` (`[cout, cin/groups, k, k]`, 1 at
/// the centre of each output channel's own input channel).
fn identity_kernel(
    cout: usize,
    per_group: usize,
    kernel: usize,
    device: &candle_core::Device,
) -> Result<Tensor> {
    let mut w = vec![0f32; cout * per_group * kernel * kernel];
    let centre = (kernel / 2) * kernel + kernel / 2;
    for o in 0..cout {
        w[(o * per_group + o % per_group) * kernel * kernel + centre] = 1.0;
    }
    Tensor::from_vec(w, (cout, per_group, kernel, kernel), device)
}

/// A MobileOne block's branches — `conv_kxk.N` (k×k conv + BN), `conv_scale` (1×1 conv + BN,
/// padded to k×k), `identity` (BN) — summed into one convolution; then `se` when present and
/// GELU when `act`.
fn mobileone(
    vb: &VarBuilder,
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    groups: usize,
    act: bool,
) -> Result<Conv> {
    let per_group = cin / groups;
    let mut weight = Tensor::zeros((cout, per_group, kernel, kernel), DType::F32, vb.device())?;
    let mut bias = Tensor::zeros(cout, DType::F32, vb.device())?;
    let mut branches = 0;
    let mut add = |w: Tensor, b: Tensor| -> Result<()> {
        weight = (&weight + w)?;
        bias = (&bias + b)?;
        branches += 1;
        Ok(())
    };
    for n in 0.. {
        let branch = vb.pp(format!("conv_kxk.{n}"));
        if !branch.contains_tensor("conv.weight") {
            break;
        }
        let w = branch
            .pp("conv")
            .get((cout, per_group, kernel, kernel), "weight")?;
        let (w, b) = fold_bn(&w, &branch.pp("bn"), cout)?;
        add(w, b)?;
    }
    if vb.contains_tensor("conv_scale.conv.weight") {
        let w = vb
            .pp("conv_scale.conv")
            .get((cout, per_group, 1, 1), "weight")?;
        let (w, b) = fold_bn(&w, &vb.pp("conv_scale.bn"), cout)?;
        let pad = kernel / 2;
        add(
            w.pad_with_zeros(2, pad, pad)?.pad_with_zeros(3, pad, pad)?,
            b,
        )?;
    }
    if vb.contains_tensor("identity.weight") {
        let (w, b) = fold_bn(
            &identity_kernel(cout, per_group, kernel, vb.device())?,
            &vb.pp("identity"),
            cout,
        )?;
        add(w, b)?;
    }
    if branches == 0 {
        candle_core::bail!("{}: a MobileOne block without any branch", vb.prefix());
    }
    Ok(Conv {
        conv: Conv2d::new(weight, Some(bias), conv_config(kernel, stride, groups)),
        se: squeeze_excite(&vb.pp("se"), cout)?,
        act,
    })
}
