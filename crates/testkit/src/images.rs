//! Generated images and transformations of real ones.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

use crate::Result;

/// A deterministic textured image (gradients plus noise from `seed`), so that JPEGs of it
/// have the size and decoding cost of a photo rather than of a flat colour.
pub fn textured(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut state = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state & 0x3f) as u32;
        let r = (x * 255 / width.max(1) + noise) & 0xff;
        let g = (y * 255 / height.max(1) + noise / 2) & 0xff;
        let b = ((x + y) as u64 + seed * 37) as u32 & 0xff;
        Rgb([r as u8, g as u8, b as u8])
    })
}

/// A JPEG of [`textured`] pixels.
pub fn jpeg(width: u32, height: u32, seed: u64) -> Result<Vec<u8>> {
    encode(
        &DynamicImage::ImageRgb8(textured(width, height, seed)),
        ImageFormat::Jpeg,
    )
}

/// A PNG of [`textured`] pixels.
pub fn png(width: u32, height: u32, seed: u64) -> Result<Vec<u8>> {
    encode(
        &DynamicImage::ImageRgb8(textured(width, height, seed)),
        ImageFormat::Png,
    )
}

/// Stores `upright` the way a camera does for EXIF `orientation` (1–8): the returned JPEG's
/// pixels are turned so that applying the orientation shows `upright` again. The EXIF tag
/// itself is not written; see [`crate::with_exif`].
pub fn oriented(upright: &DynamicImage, orientation: u8) -> Result<Vec<u8>> {
    // Rotations by 90° are each other's inverse; the other transforms undo themselves.
    let inverse = match orientation {
        6 => 8,
        8 => 6,
        n => n,
    };
    let turn = Orientation::from_exif(inverse)
        .ok_or_else(|| anyhow::anyhow!("orientation must be 1-8"))?;
    let mut stored = upright.clone();
    stored.apply_orientation(turn);
    encode(&stored, ImageFormat::Jpeg)
}

/// The same JPEG pixels with a comment segment after the start marker: different bytes
/// (and hash), identical image.
pub fn with_comment(jpeg: &[u8], comment: &str) -> Result<Vec<u8>> {
    insert_segment(jpeg, 0xFE, &[comment.as_bytes()])
}

/// Inserts a marker segment (`FF marker`, length, payload parts) right after the JPEG start
/// marker.
pub(crate) fn insert_segment(jpeg: &[u8], marker: u8, payload: &[&[u8]]) -> Result<Vec<u8>> {
    let body = jpeg
        .strip_prefix(&[0xFF, 0xD8])
        .ok_or_else(|| anyhow::anyhow!("not a JPEG"))?;
    let payload_len: usize = payload.iter().map(|p| p.len()).sum();
    let len = u16::try_from(payload_len + 2)?;
    let mut out = Vec::with_capacity(jpeg.len() + payload_len + 4);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, marker]);
    out.extend_from_slice(&len.to_be_bytes());
    for part in payload {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(body);
    Ok(out)
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format)?;
    Ok(out.into_inner())
}
