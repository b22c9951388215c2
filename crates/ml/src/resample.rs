//! Resizing exactly as Pillow's `Image.resize` does for 8-bit images (the reference
//! processors resize through Pillow): separable convolution with the filter's support scaled
//! by the reduction factor, coefficients normalised and rounded to 22-bit fixed point, a
//! horizontal pass into an 8-bit image, then a vertical pass. Matching it bit for bit keeps
//! model inputs identical to the reference's for the same decoded pixels.

/// Pillow's resampling filters that checkpoints name (`resample` in the processor config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    /// `PIL.Image.BILINEAR` (2).
    Bilinear,
    /// `PIL.Image.BICUBIC` (3), a = −0.5.
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Self::Bilinear => 1.0,
            Self::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Self::Bilinear if x < 1.0 => 1.0 - x,
            Self::Bicubic if x < 1.0 => ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1.0,
            Self::Bicubic if x < 2.0 => (((x - 5.0) * x + 8.0) * x - 4.0) * -0.5,
            _ => 0.0,
        }
    }
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// For each output position: the first input index and the fixed-point weights.
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    ksize: usize,
    weights: Vec<i32>,
}

fn coefficients(in_size: usize, out_size: usize, filter: Filter) -> Coefficients {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter.support() * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    let mut k = vec![0f64; ksize];
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // Truncation toward zero, as C's (int) cast.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let n = xmax.saturating_sub(xmin);
        let mut total = 0.0;
        for (x, w) in k.iter_mut().enumerate().take(n) {
            *w = filter.weight((x as f64 + xmin as f64 - center + 0.5) * ss);
            total += *w;
        }
        for x in 0..n {
            let w = if total == 0.0 { k[x] } else { k[x] / total };
            let fixed = w * f64::from(1u32 << PRECISION_BITS);
            weights[xx * ksize + x] = if w < 0.0 {
                (fixed - 0.5) as i32
            } else {
                (fixed + 0.5) as i32
            };
        }
        bounds.push((xmin, n));
    }
    Coefficients {
        bounds,
        ksize,
        weights,
    }
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes interleaved 8-bit RGB from `w`×`h` to `tw`×`th`.
pub(crate) fn resize_rgb(
    rgb: &[u8],
    (w, h): (usize, usize),
    (tw, th): (usize, usize),
    filter: Filter,
) -> Vec<u8> {
    let horizontal = if tw == w {
        rgb.to_vec()
    } else {
        let c = coefficients(w, tw, filter);
        let mut out = vec![0u8; tw * h * 3];
        for y in 0..h {
            let row = &rgb[y * w * 3..(y + 1) * w * 3];
            for (xx, &(xmin, n)) in c.bounds.iter().enumerate() {
                let k = &c.weights[xx * c.ksize..xx * c.ksize + n];
                for ch in 0..3 {
                    let mut acc = 1i64 << (PRECISION_BITS - 1);
                    for (x, &kw) in k.iter().enumerate() {
                        acc += i64::from(row[(xmin + x) * 3 + ch]) * i64::from(kw);
                    }
                    out[(y * tw + xx) * 3 + ch] = clip8(acc);
                }
            }
        }
        out
    };
    if th == h {
        return horizontal;
    }
    let c = coefficients(h, th, filter);
    let mut out = vec![0u8; tw * th * 3];
    for (yy, &(ymin, n)) in c.bounds.iter().enumerate() {
        let k = &c.weights[yy * c.ksize..yy * c.ksize + n];
        for x in 0..tw * 3 {
            let mut acc = 1i64 << (PRECISION_BITS - 1);
            for (y, &kw) in k.iter().enumerate() {
                acc += i64::from(horizontal[(ymin + y) * tw * 3 + x]) * i64::from(kw);
            }
            out[yy * tw * 3 + x] = clip8(acc);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_images_stay_flat_and_weights_sum_to_one() {
        let rgb = vec![200u8; 40 * 30 * 3];
        for filter in [Filter::Bilinear, Filter::Bicubic] {
            assert!(
                resize_rgb(&rgb, (40, 30), (13, 7), filter)
                    .iter()
                    .all(|&v| v == 200)
            );
            let c = coefficients(40, 13, filter);
            for (i, &(_, n)) in c.bounds.iter().enumerate() {
                let sum: i64 = c.weights[i * c.ksize..i * c.ksize + n]
                    .iter()
                    .map(|&w| i64::from(w))
                    .sum();
                assert!((sum - (1 << PRECISION_BITS)).abs() <= n as i64, "{sum}");
            }
        }
    }

    #[test]
    fn bicubic_kernel_is_pillows() {
        assert_eq!(Filter::Bicubic.weight(0.0), 1.0);
        assert_eq!(Filter::Bicubic.weight(1.0), 0.0);
        assert_eq!(Filter::Bicubic.weight(0.5), 0.5625);
        assert_eq!(Filter::Bicubic.weight(1.5), -0.0625);
        assert_eq!(Filter::Bicubic.weight(2.0), 0.0);
    }
}
