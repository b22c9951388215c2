//! What Shoebox learns from a photo file: format, size, orientation and EXIF.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Image container formats Shoebox recognises by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG / JFIF / EXIF.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy or lossless).
    Webp,
    /// GIF (first frame).
    Gif,
    /// TIFF.
    Tiff,
    /// Windows bitmap.
    Bmp,
    /// AV1 image file.
    Avif,
    /// HEIF / HEIC.
    Heic,
}

impl ImageFormat {
    /// The media type files of this format are served as.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
            Self::Tiff => "image/tiff",
            Self::Bmp => "image/bmp",
            Self::Avif => "image/avif",
            Self::Heic => "image/heic",
        }
    }

    /// Every format, in a stable order.
    pub const ALL: [Self; 8] = [
        Self::Jpeg,
        Self::Png,
        Self::Webp,
        Self::Gif,
        Self::Tiff,
        Self::Bmp,
        Self::Avif,
        Self::Heic,
    ];

    /// The lower-case name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
            Self::Tiff => "tiff",
            Self::Bmp => "bmp",
            Self::Avif => "avif",
            Self::Heic => "heic",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageFormat {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| crate::Error::Invalid(format!("unknown image format {s:?}")))
    }
}

/// When a photo was taken, as the camera recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakenAt {
    /// Wall-clock time on the camera.
    pub local: PrimitiveDateTime,
    /// The camera's UTC offset, when EXIF records one (`OffsetTimeOriginal`).
    pub offset: Option<UtcOffset>,
}

impl TakenAt {
    /// The instant, reading a missing offset as UTC; used for sorting and date filters.
    pub fn instant(&self) -> OffsetDateTime {
        self.local
            .assume_offset(self.offset.unwrap_or(UtcOffset::UTC))
    }
}

/// A GPS position in decimal degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsPosition {
    /// Latitude, north positive.
    pub latitude: f64,
    /// Longitude, east positive.
    pub longitude: f64,
    /// Altitude in metres above sea level.
    pub altitude: Option<f64>,
}

/// Exposure settings from EXIF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// Exposure time in seconds.
    pub exposure_time_s: Option<f64>,
    /// Aperture as an f-number.
    pub f_number: Option<f64>,
    /// ISO speed.
    pub iso: Option<u32>,
    /// Focal length in millimetres.
    pub focal_length_mm: Option<f64>,
}

/// Everything the scanner learns from a readable photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoMetadata {
    /// Container format, from the file's content.
    pub format: ImageFormat,
    /// Width in pixels as displayed (after EXIF orientation).
    pub width: u32,
    /// Height in pixels as displayed (after EXIF orientation).
    pub height: u32,
    /// EXIF orientation, 1–8 (1 when absent).
    pub orientation: u8,
    /// When the photo was taken.
    pub taken_at: Option<TakenAt>,
    /// Where the photo was taken.
    pub gps: Option<GpsPosition>,
    /// Camera maker.
    pub camera_make: Option<String>,
    /// Camera model.
    pub camera_model: Option<String>,
    /// Lens model.
    pub lens: Option<String>,
    /// Exposure settings.
    pub exposure: Exposure,
}
