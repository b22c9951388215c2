//! Reading one photo file fully: bytes, hash, format, EXIF, dimensions, pixels, thumbnails.

use std::io::{Cursor, Read};
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};
use shoebox_core::{ContentHash, ImageFormat, PhotoMetadata, Pixels, ScanOutcome};

use crate::exif;
use crate::sniff::sniff;
use crate::thumbnail::Thumbnailer;
use crate::{IndexerSettings, Result};

/// What reading a file gave: its hash (when readable) and the outcome.
#[derive(Debug)]
pub(crate) struct ReadPhoto {
    pub(crate) hash: Option<ContentHash>,
    pub(crate) outcome: ScanOutcome,
}

/// Reads, hashes and indexes one file. Problems with the file become a `Failed` outcome
/// with a reason; only problems on our side (writing thumbnails) are errors.
pub(crate) fn read_photo(
    path: &Path,
    settings: &IndexerSettings,
    thumbs: &Thumbnailer,
) -> Result<ReadPhoto> {
    let bytes = match read_bounded(path, settings.max_file_bytes) {
        Ok(bytes) => bytes,
        Err(reason) => {
            return Ok(ReadPhoto {
                hash: None,
                outcome: ScanOutcome::Failed { reason },
            });
        }
    };
    let hash = ContentHash(*blake3::hash(&bytes).as_bytes());
    let outcome = match index(&bytes, &hash, settings, thumbs) {
        Ok(Ok(metadata)) => ScanOutcome::Indexed(metadata),
        Ok(Err(reason)) => ScanOutcome::Failed { reason },
        Err(e) => return Err(e),
    };
    Ok(ReadPhoto {
        hash: Some(hash),
        outcome,
    })
}

fn read_bounded(path: &Path, max: u64) -> std::result::Result<Vec<u8>, String> {
    let cannot = |e: std::io::Error| format!("cannot read file: {e}");
    let file = fs_err::File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    if len > max {
        return Err(format!(
            "file is {len} bytes, above the limit of {max} (indexer.max_file_bytes)"
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(max + 1).read_to_end(&mut bytes).map_err(cannot)?;
    Ok(bytes)
}

/// A file that passed every check and is ready to decode.
struct Opened<'b> {
    format: ImageFormat,
    exif: exif::ExifFields,
    decoder: Box<dyn ImageDecoder + 'b>,
}

impl Opened<'_> {
    fn orientation(&self) -> u8 {
        self.exif.orientation.unwrap_or(1)
    }

    fn decode(self) -> std::result::Result<(DynamicImage, Orientation), String> {
        let turn = Orientation::from_exif(self.orientation()).unwrap_or(Orientation::NoTransforms);
        let format = self.format;
        DynamicImage::from_decoder(self.decoder)
            .map(|image| (image, turn))
            .map_err(|e| describe(format, &e))
    }
}

/// Checks a file's bytes (empty, format, truncation, pixel count: each a reason to show) and
/// reads its EXIF and header.
fn open<'b>(
    bytes: &'b [u8],
    settings: &IndexerSettings,
) -> std::result::Result<Opened<'b>, String> {
    if bytes.is_empty() {
        return Err("empty file (0 bytes)".to_owned());
    }
    let format = sniff(bytes).ok_or_else(|| {
        "not an image: the content is none of JPEG, PNG, WebP, GIF, TIFF, BMP, AVIF or HEIC"
            .to_owned()
    })?;
    let codec = codec(format).ok_or_else(|| {
        format!("{format} is recognised but cannot be decoded by this build of Shoebox yet")
    })?;
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(
            "truncated JPEG: the file ends before the image data does (no end-of-image marker)"
                .to_owned(),
        );
    }
    let exif = exif::read(bytes);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), codec);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(settings.max_image_pixels.saturating_mul(8));
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| describe(format, &e))?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > settings.max_image_pixels {
        return Err(format!(
            "image is {width}×{height} ({pixels} pixels), above the limit of {} \
             (indexer.max_image_pixels); not decoded",
            settings.max_image_pixels
        ));
    }
    Ok(Opened {
        format,
        exif,
        decoder: Box::new(decoder),
    })
}

/// Decodes a photo file upright (EXIF orientation applied), with the same checks and limits
/// as a scan; the error is a reason to show.
pub fn load_pixels(path: &Path, settings: &IndexerSettings) -> std::result::Result<Pixels, String> {
    decode_pixels(&read_bounded(path, settings.max_file_bytes)?, settings)
}

/// Decodes an image held in memory (an upload) upright, with a scan's checks and limits:
/// known formats by content, the pixel limit checked before decoding.
pub fn decode_pixels(
    bytes: &[u8],
    settings: &IndexerSettings,
) -> std::result::Result<Pixels, String> {
    let (mut image, turn) = open(bytes, settings)?.decode()?;
    image.apply_orientation(turn);
    let rgb = image.into_rgb8();
    Ok(Pixels {
        width: rgb.width(),
        height: rgb.height(),
        rgb: rgb.into_raw(),
    })
}

/// The inner result is the file's fault (a reason to show); the outer one ours.
fn index(
    bytes: &[u8],
    hash: &ContentHash,
    settings: &IndexerSettings,
    thumbs: &Thumbnailer,
) -> Result<std::result::Result<PhotoMetadata, String>> {
    let opened = match open(bytes, settings) {
        Ok(o) => o,
        Err(reason) => return Ok(Err(reason)),
    };
    let (width, height) = opened.decoder.dimensions();
    let orientation = opened.orientation();
    let format = opened.format;
    let exif = opened.exif.clone();
    // Content seen before has its thumbnails already; the header is all we need then.
    if thumbs.missing(hash) {
        match opened.decode() {
            Ok((image, turn)) => thumbs.write(&image, turn, hash)?,
            Err(reason) => return Ok(Err(reason)),
        }
    }
    let (width, height) = if orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    };
    Ok(Ok(PhotoMetadata {
        format,
        width,
        height,
        orientation,
        taken_at: exif.taken_at,
        gps: exif.gps,
        camera_make: exif.camera_make,
        camera_model: exif.camera_model,
        lens: exif.lens,
        exposure: exif.exposure,
    }))
}

/// Whether the last end-of-image marker comes after the last start-of-scan marker. Inside
/// entropy-coded data `FF` is always stuffed, so `FF D9` there is the real end. JPEG decoders
/// fill a truncated image with grey rather than fail, so this is how truncation shows.
/// Searching from the end makes the usual case (the marker in the last bytes) instant.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]) else {
        return false;
    };
    !bytes[end..].windows(2).any(|w| w == [0xFF, 0xDA])
}

/// The `image` codec for a format, when this build can decode it.
fn codec(format: ImageFormat) -> Option<image::ImageFormat> {
    match format {
        ImageFormat::Jpeg => Some(image::ImageFormat::Jpeg),
        ImageFormat::Png => Some(image::ImageFormat::Png),
        ImageFormat::Webp => Some(image::ImageFormat::WebP),
        ImageFormat::Gif => Some(image::ImageFormat::Gif),
        ImageFormat::Tiff => Some(image::ImageFormat::Tiff),
        ImageFormat::Bmp => Some(image::ImageFormat::Bmp),
        ImageFormat::Avif | ImageFormat::Heic => None,
    }
}

fn describe(format: ImageFormat, e: &ImageError) -> String {
    match e {
        ImageError::Limits(l) => format!("{format} image exceeds the decoder's limits: {l}"),
        ImageError::Unsupported(u) => format!("unsupported {format} variant: {u}"),
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("truncated {format}: the file ends before the image data does")
        }
        other => format!("cannot decode {format}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_completeness_needs_an_end_after_the_last_scan() {
        let whole = [0xFF, 0xD8, 0xFF, 0xDA, 1, 2, 0xFF, 0x00, 3, 0xFF, 0xD9];
        assert!(jpeg_is_complete(&whole));
        assert!(!jpeg_is_complete(&whole[..8]));
        // An end marker before the last scan (an embedded thumbnail) does not count.
        let thumb_only = [0xFF, 0xD8, 0xFF, 0xDA, 0xFF, 0xD9, 0xFF, 0xDA, 1, 2, 3];
        assert!(!jpeg_is_complete(&thumb_only));
        assert!(!jpeg_is_complete(&[0xFF, 0xD8, 0xFF]));
    }
}
