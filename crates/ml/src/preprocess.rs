//! Image preprocessing exactly as a checkpoint's `preprocessor_config.json` describes it
//! (the Hugging Face image processor): resize (shortest edge or fixed size) with the named
//! Pillow filter, centre crop, rescale, normalise, as a CHW f32 tensor; or as open_clip's
//! evaluation transform describes it (MobileCLIP).

use candle_core::{Device, Tensor};
use serde::Deserialize;
use shoebox_core::Pixels;

use crate::checkpoint::Checkpoint;
use crate::resample::{Filter, resize_rgb};
use crate::{Error, Result};

/// `size` / `crop_size`: either a shortest edge or a fixed height and width; a plain number
/// is a square (as some hub files write it, e.g. BLIP's `"size": 384`).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(from = "SizeField")]
struct Size {
    shortest_edge: Option<u32>,
    height: Option<u32>,
    width: Option<u32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeField {
    Square(u32),
    Fields {
        shortest_edge: Option<u32>,
        height: Option<u32>,
        width: Option<u32>,
    },
}

impl From<SizeField> for Size {
    fn from(field: SizeField) -> Self {
        match field {
            SizeField::Square(side) => Self {
                shortest_edge: None,
                height: Some(side),
                width: Some(side),
            },
            SizeField::Fields {
                shortest_edge,
                height,
                width,
            } => Self {
                shortest_edge,
                height,
                width,
            },
        }
    }
}

/// The fields of `preprocessor_config.json` that change pixels. Defaults are the Hugging Face
/// image processor's.
#[derive(Debug, Clone, Deserialize)]
struct Config {
    #[serde(default = "yes")]
    do_resize: bool,
    #[serde(default)]
    size: Size,
    /// PIL resampling filter: 2 bilinear, 3 bicubic.
    #[serde(default = "bicubic")]
    resample: u8,
    #[serde(default)]
    do_center_crop: bool,
    #[serde(default)]
    crop_size: Size,
    #[serde(default = "yes")]
    do_rescale: bool,
    #[serde(default = "one_over_255")]
    rescale_factor: f32,
    #[serde(default = "yes")]
    do_normalize: bool,
    #[serde(default)]
    image_mean: Option<[f32; 3]>,
    #[serde(default)]
    image_std: Option<[f32; 3]>,
}

fn yes() -> bool {
    true
}
fn bicubic() -> u8 {
    3
}
fn one_over_255() -> f32 {
    1.0 / 255.0
}

/// Turns images into model input.
#[derive(Debug, Clone)]
pub(crate) struct Preprocessor {
    resize: Option<Target>,
    filter: Filter,
    crop: Option<(u32, u32)>,
    /// How an odd margin is split around the crop.
    centre: Centre,
    scale: f32,
    mean: [f32; 3],
    std: [f32; 3],
}

/// Where a centre crop starts when the margin is odd.
#[derive(Debug, Clone, Copy)]
enum Centre {
    /// `margin / 2`, rounded down (the Hugging Face image processor).
    Floor,
    /// `round(margin / 2)`, halves to even (torchvision's `CenterCrop`, as open_clip uses):
    /// one pixel further when `margin / 2` is an odd number and a half.
    HalfToEven,
}

impl Centre {
    fn offset(self, margin: u32) -> u32 {
        match self {
            Self::Floor => margin / 2,
            Self::HalfToEven if margin % 4 == 3 => margin / 2 + 1,
            Self::HalfToEven => margin / 2,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Target {
    ShortestEdge(u32),
    Exact { height: u32, width: u32 },
}

impl Preprocessor {
    pub(crate) fn load(checkpoint: &Checkpoint) -> Result<Self> {
        let path = checkpoint.file("preprocessor_config.json")?;
        let c: Config = checkpoint.json("preprocessor_config.json")?;
        let invalid = |reason: &str| Error::InvalidFile {
            path: path.clone(),
            reason: reason.to_owned(),
        };
        let resize = match (c.do_resize, c.size) {
            (false, _) => None,
            (
                true,
                Size {
                    shortest_edge: Some(s),
                    ..
                },
            ) => Some(Target::ShortestEdge(s)),
            (
                true,
                Size {
                    height: Some(height),
                    width: Some(width),
                    ..
                },
            ) => Some(Target::Exact { height, width }),
            (true, _) => return Err(invalid("size needs shortest_edge or height and width")),
        };
        let filter = match c.resample {
            2 => Filter::Bilinear,
            3 => Filter::Bicubic,
            other => {
                return Err(Error::Unsupported(format!(
                    "resample filter {other} (2 and 3 are supported)"
                )));
            }
        };
        let crop = match (c.do_center_crop, c.crop_size) {
            (false, _) => None,
            (
                true,
                Size {
                    height: Some(h),
                    width: Some(w),
                    ..
                },
            ) => Some((h, w)),
            (true, _) => return Err(invalid("crop_size needs height and width")),
        };
        let (mean, std) = if c.do_normalize {
            (
                c.image_mean.ok_or_else(|| invalid("image_mean missing"))?,
                c.image_std.ok_or_else(|| invalid("image_std missing"))?,
            )
        } else {
            ([0.0; 3], [1.0; 3])
        };
        if std.contains(&0.0) {
            return Err(invalid("image_std has a zero"));
        }
        Ok(Self {
            resize,
            filter,
            crop,
            centre: Centre::Floor,
            scale: if c.do_rescale { c.rescale_factor } else { 1.0 },
            mean,
            std,
        })
    }

    /// Resize the shortest side to `size` with `filter`, centre crop `size × size`, scale to
    /// `[0, 1]`, normalise: open_clip's evaluation transform.
    pub(crate) fn shortest_then_crop(
        size: u32,
        filter: Filter,
        mean: [f32; 3],
        std: [f32; 3],
    ) -> std::result::Result<Self, String> {
        if std.contains(&0.0) {
            return Err("std has a zero".to_owned());
        }
        Ok(Self {
            resize: Some(Target::ShortestEdge(size)),
            filter,
            crop: Some((size, size)),
            centre: Centre::HalfToEven,
            scale: 1.0 / 255.0,
            mean,
            std,
        })
    }

    /// The model input for one image: `[3, height, width]`.
    pub(crate) fn tensor(&self, image: &Pixels, device: &Device) -> Result<Tensor> {
        let (w, h, rgb) = self.resized(image)?;
        let (top, left, ch, cw) = match self.crop {
            Some((ch, cw)) if ch <= h && cw <= w => (
                self.centre.offset(h - ch),
                self.centre.offset(w - cw),
                ch,
                cw,
            ),
            Some((ch, cw)) => {
                return Err(Error::Image(format!(
                    "{w}×{h} is smaller than the {cw}×{ch} crop"
                )));
            }
            None => (0, 0, h, w),
        };
        let plane = (ch * cw) as usize;
        let mut chw = vec![0f32; 3 * plane];
        for y in 0..ch {
            let row = ((top + y) * w + left) as usize * 3;
            for x in 0..cw as usize {
                for c in 0..3 {
                    let v = f32::from(rgb[row + 3 * x + c]) * self.scale;
                    chw[c * plane + y as usize * cw as usize + x] =
                        (v - self.mean[c]) / self.std[c];
                }
            }
        }
        Ok(Tensor::from_vec(
            chw,
            (3, ch as usize, cw as usize),
            device,
        )?)
    }

    /// Resized RGB bytes (width, height, bytes).
    fn resized(&self, image: &Pixels) -> Result<(u32, u32, Vec<u8>)> {
        let (w, h) = (image.width, image.height);
        if w == 0 || h == 0 || image.rgb.len() != (w as usize) * (h as usize) * 3 {
            return Err(Error::Image(format!(
                "{w}×{h} image with {} bytes",
                image.rgb.len()
            )));
        }
        let (tw, th) = match self.resize {
            None => return Ok((w, h, image.rgb.clone())),
            // As the reference: the short side becomes `s`, the long side is truncated.
            Some(Target::ShortestEdge(s)) if w <= h => {
                (s, (u64::from(s) * u64::from(h) / u64::from(w)) as u32)
            }
            Some(Target::ShortestEdge(s)) => {
                ((u64::from(s) * u64::from(w) / u64::from(h)) as u32, s)
            }
            Some(Target::Exact { height, width }) => (width, height),
        };
        let resized = resize_rgb(
            &image.rgb,
            (w as usize, h as usize),
            (tw as usize, th as usize),
            self.filter,
        );
        Ok((tw, th, resized))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_number_is_a_square_size() -> anyhow::Result<()> {
        let c: Config = serde_json::from_str(r#"{"size": 384, "image_mean": [0,0,0]}"#)?;
        assert_eq!(
            (c.size.height, c.size.width, c.size.shortest_edge),
            (Some(384), Some(384), None)
        );
        let c: Config = serde_json::from_str(r#"{"size": {"shortest_edge": 224}}"#)?;
        assert_eq!((c.size.height, c.size.shortest_edge), (None, Some(224)));
        Ok(())
    }

    #[test]
    fn crop_offsets_round_like_each_reference() {
        // torchvision: int(round(margin / 2.0)), Python rounding halves to even.
        for (margin, floor, half_even) in [
            (0, 0, 0),
            (4, 2, 2),
            (5, 2, 2),
            (111, 55, 56),
            (127, 63, 64),
        ] {
            assert_eq!(Centre::Floor.offset(margin), floor, "{margin}");
            assert_eq!(Centre::HalfToEven.offset(margin), half_even, "{margin}");
        }
    }
}
