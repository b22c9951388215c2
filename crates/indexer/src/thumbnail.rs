//! Thumbnails: resized with fast_image_resize, turned upright, JPEG-encoded, written
//! atomically into the data directory under the content hash.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};
use shoebox_core::ContentHash;

use crate::{Error, Result, ThumbnailSettings};

/// Where the thumbnail of `size` pixels (longest side) for `hash` lives under `dir`.
pub fn thumbnail_path(dir: &Path, size: u32, hash: &ContentHash) -> PathBuf {
    let hex = hash.to_hex();
    dir.join(size.to_string())
        .join(&hex[..2])
        .join(format!("{hex}.jpg"))
}

/// Writes the thumbnails of one photo in every configured size.
#[derive(Debug, Clone)]
pub(crate) struct Thumbnailer {
    dir: PathBuf,
    /// Longest side of each size, largest first: each size is resized from the one before.
    sizes: Vec<u32>,
    quality: u8,
}

impl Thumbnailer {
    pub(crate) fn new(dir: PathBuf, settings: &ThumbnailSettings) -> Self {
        let mut sizes = settings.sizes.clone();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.dedup();
        Self {
            dir,
            sizes,
            quality: settings.quality,
        }
    }

    /// Where files are written before they are renamed into place. A scan killed mid-write
    /// leaves its partial files here, and the next scan clears them.
    fn partial_dir(&self) -> PathBuf {
        self.dir.join(".partial")
    }

    /// Removes what an interrupted scan left half-written. Call with the scan lock held.
    pub(crate) fn clear_partial(&self) -> Result<()> {
        let dir = self.partial_dir();
        let io = |source| Error::Io {
            path: dir.clone(),
            source,
        };
        if dir.exists() {
            fs_err::remove_dir_all(&dir).map_err(io)?;
        }
        fs_err::create_dir_all(&dir).map_err(io)
    }

    /// Whether any size is missing for this content.
    pub(crate) fn missing(&self, hash: &ContentHash) -> bool {
        self.sizes
            .iter()
            .any(|&size| !thumbnail_path(&self.dir, size, hash).is_file())
    }

    /// Writes every size of `image` (as decoded, before orientation), turned upright.
    pub(crate) fn write(
        &self,
        image: &DynamicImage,
        orientation: Orientation,
        hash: &ContentHash,
    ) -> Result<()> {
        let mut current: Cow<'_, RgbImage> = match image {
            DynamicImage::ImageRgb8(rgb) => Cow::Borrowed(rgb),
            other => Cow::Owned(other.to_rgb8()),
        };
        let mut resizer = Resizer::new();
        for &size in &self.sizes {
            current = Cow::Owned(fit(&mut resizer, &current, size)?);
            let mut upright = DynamicImage::ImageRgb8(current.as_ref().clone());
            upright.apply_orientation(orientation);
            self.save(&upright.into_rgb8(), &thumbnail_path(&self.dir, size, hash))?;
        }
        Ok(())
    }

    fn save(&self, rgb: &RgbImage, path: &Path) -> Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let encode_error = |reason: String| Error::Thumbnail {
            path: path.to_owned(),
            reason,
        };
        let (w, h) = rgb.dimensions();
        let (w, h) = (u16::try_from(w), u16::try_from(h));
        let (Ok(w), Ok(h)) = (w, h) else {
            return Err(encode_error(
                "thumbnail larger than 65535 pixels".to_owned(),
            ));
        };
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, self.quality)
            .encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| encode_error(e.to_string()))?;
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir).map_err(io)?;
        }
        // Write aside and rename, so a crash never leaves a half-written thumbnail in place.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .partial_dir()
            .join(format!("{}-{n}.jpg", std::process::id()));
        fs_err::write(&tmp, &jpeg).map_err(io)?;
        fs_err::rename(&tmp, path).map_err(io)
    }
}

/// Resizes to fit a `max` × `max` box, keeping the aspect ratio; never enlarges.
fn fit(resizer: &mut Resizer, src: &RgbImage, max: u32) -> Result<RgbImage> {
    let (w, h) = src.dimensions();
    let longest = w.max(h);
    if longest <= max {
        return Ok(src.clone());
    }
    let scale = f64::from(max) / f64::from(longest);
    let (tw, th) = (scaled(w, scale), scaled(h, scale));
    let resize_error = |e: &dyn std::fmt::Display| Error::Thumbnail {
        path: PathBuf::new(),
        reason: e.to_string(),
    };
    let src_view =
        ImageRef::new(w, h, src.as_raw(), PixelType::U8x3).map_err(|e| resize_error(&e))?;
    let mut dst = Image::new(tw, th, PixelType::U8x3);
    resizer
        .resize(
            &src_view,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom)),
        )
        .map_err(|e| resize_error(&e))?;
    RgbImage::from_raw(tw, th, dst.into_vec())
        .ok_or_else(|| resize_error(&"resized buffer has the wrong size"))
}

fn scaled(side: u32, scale: f64) -> u32 {
    // Rounded, at least one pixel; the product is below `side`, so it fits in u32.
    ((f64::from(side) * scale).round() as u32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_longest_side_and_never_enlarges() {
        let mut resizer = Resizer::new();
        let src = RgbImage::new(300, 200);
        assert_eq!(
            fit(&mut resizer, &src, 150).map(|i| i.dimensions()).ok(),
            Some((150, 100))
        );
        assert_eq!(
            fit(&mut resizer, &src, 1000).map(|i| i.dimensions()).ok(),
            Some((300, 200))
        );
        let tall = RgbImage::new(10, 4000);
        assert_eq!(
            fit(&mut resizer, &tall, 256).map(|i| i.dimensions()).ok(),
            Some((1, 256))
        );
    }

    #[test]
    fn paths_shard_by_hash_prefix() {
        let hash = ContentHash([0xab; 32]);
        let p = thumbnail_path(Path::new("/d"), 256, &hash);
        assert_eq!(
            p,
            Path::new("/d/256/ab").join(format!("{}.jpg", "ab".repeat(32)))
        );
    }
}
