//! Convolutions whose every output channel reads one input channel (depthwise, or with a
//! channel multiplier): FastViT's token mixers, MLP and positional convolutions and its
//! downsampling. candle runs a grouped convolution as one small convolution per group —
//! hundreds of calls per layer — so these run as direct loops over each output plane instead,
//! the planes split across the rayon pool.

use candle_core::{Result, Tensor};
use candle_nn::{Conv2d, Module};
use rayon::prelude::*;

/// `conv` applied to `x` (`[B, C, H, W]`): the direct loop on the CPU when each output channel
/// reads one input channel, candle's convolution otherwise.
pub(crate) fn conv2d(conv: &Conv2d, x: &Tensor) -> Result<Tensor> {
    let config = conv.config();
    let (c_out, per_group, k, k2) = conv.weight().dims4()?;
    let (b, c, h, w) = x.dims4()?;
    let direct = x.device().is_cpu()
        && x.dtype() == candle_core::DType::F32
        && config.groups == c
        && per_group == 1
        && k == k2
        && c_out % c == 0
        && config.dilation == 1;
    if !direct {
        return conv.forward(x);
    }
    let (stride, pad) = (config.stride, config.padding);
    let (oh, ow) = (
        (h + 2 * pad - k) / stride + 1,
        (w + 2 * pad - k) / stride + 1,
    );
    let input = x.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
    let weight = conv.weight().flatten_all()?.to_vec1::<f32>()?;
    let bias = match conv.bias() {
        Some(bias) => bias.to_vec1::<f32>()?,
        None => vec![0.0; c_out],
    };
    let multiplier = c_out / c;
    let mut out = vec![0f32; b * c_out * oh * ow];
    out.par_chunks_mut(oh * ow)
        .enumerate()
        .for_each(|(plane, y)| {
            let (batch, oc) = (plane / c_out, plane % c_out);
            let ic = oc / multiplier;
            let src = &input[(batch * c + ic) * h * w..][..h * w];
            let kernel = &weight[oc * k * k..][..k * k];
            y.fill(bias[oc]);
            for (oy, row) in y.chunks_exact_mut(ow).enumerate() {
                for ky in 0..k {
                    let Some(iy) = (oy * stride + ky).checked_sub(pad).filter(|iy| *iy < h) else {
                        continue;
                    };
                    let line = &src[iy * w..][..w];
                    for kx in 0..k {
                        let wv = kernel[ky * k + kx];
                        // Output columns whose input column `ox·stride + kx − pad` is inside.
                        let first = pad.saturating_sub(kx).div_ceil(stride);
                        let last = (w + pad - kx).div_ceil(stride).min(ow);
                        if stride == 1 {
                            let start = first + kx - pad;
                            for (o, i) in row[first..last].iter_mut().zip(&line[start..]) {
                                *o += wv * i;
                            }
                        } else {
                            for (ox, o) in row.iter_mut().enumerate().take(last).skip(first) {
                                *o += wv * line[ox * stride + kx - pad];
                            }
                        }
                    }
                }
            }
        });
    Tensor::from_vec(out, (b, c_out, oh, ow), x.device())
}

#[cfg(test)]
mod tests {
    use candle_core::Device;
    use candle_nn::Conv2dConfig;

    use super::*;

    #[test]
    fn matches_candles_grouped_convolution() -> Result<()> {
        let d = Device::Cpu;
        // Depthwise and multiplier 2; kernels 3 and 7; strides 1 and 2; odd sizes.
        for (c, m, k, stride, h, w) in [
            (4, 1, 3, 1, 9, 7),
            (3, 2, 7, 2, 11, 16),
            (5, 1, 7, 1, 8, 8),
            (2, 2, 3, 2, 5, 9),
        ] {
            let x = Tensor::randn(0f32, 1.0, (2, c, h, w), &d)?;
            let weight = Tensor::randn(0f32, 1.0, (c * m, 1, k, k), &d)?;
            let bias = Tensor::randn(0f32, 1.0, c * m, &d)?;
            let config = Conv2dConfig {
                padding: k / 2,
                stride,
                groups: c,
                ..Conv2dConfig::default()
            };
            let conv = Conv2d::new(weight, Some(bias), config);
            let ours = conv2d(&conv, &x)?;
            let theirs = conv.forward(&x)?;
            assert_eq!(ours.dims(), theirs.dims());
            let diff = (ours - theirs)?
                .abs()?
                .flatten_all()?
                .max(0)?
                .to_scalar::<f32>()?;
            assert!(diff < 1e-4, "c {c} m {m} k {k} s {stride}: {diff}");
        }
        Ok(())
    }
}
