//! What Shoebox learns from a photo file: format, size, orientation and EXIF.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Image container formats Shoebox recognises by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
///
/// In JSON it is one ISO 8601 string, with the offset when known: `2024-07-31T14:05:09+02:00`
/// or `2024-07-31T14:05:09`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
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

const LOCAL: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
const OFFSET: &[BorrowedFormatItem<'static>] =
    format_description!("[offset_hour sign:mandatory]:[offset_minute]");

impl fmt::Display for TakenAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.local.format(LOCAL).map_err(|_| fmt::Error)?)?;
        if let Some(offset) = self.offset {
            f.write_str(&offset.format(OFFSET).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl FromStr for TakenAt {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        let invalid = || {
            crate::Error::Invalid(format!(
                "{s:?} is not a time like 2024-07-31T14:05:09+02:00"
            ))
        };
        let split = s
            .len()
            .checked_sub(6)
            .filter(|&i| s.is_char_boundary(i) && s[i..].starts_with(['+', '-']));
        let (local, offset) = match split {
            Some(i) => (
                &s[..i],
                Some(UtcOffset::parse(&s[i..], OFFSET).map_err(|_| invalid())?),
            ),
            None => (s, None),
        };
        let local = PrimitiveDateTime::parse(local, LOCAL).map_err(|_| invalid())?;
        Ok(Self { local, offset })
    }
}

impl From<TakenAt> for String {
    fn from(t: TakenAt) -> Self {
        t.to_string()
    }
}

impl TryFrom<String> for TakenAt {
    type Error = crate::Error;

    fn try_from(s: String) -> crate::Result<Self> {
        s.parse()
    }
}

/// A GPS position in decimal degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
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

#[cfg(test)]
mod tests {
    use time::macros::{datetime, offset};

    use super::*;

    #[test]
    fn taken_at_is_one_iso_string_with_its_offset_when_known() {
        let with = TakenAt {
            local: datetime!(2024-07-31 14:05:09),
            offset: Some(offset!(-03:30)),
        };
        let without = TakenAt {
            local: datetime!(2024-07-31 14:05:09),
            offset: None,
        };
        assert_eq!(with.to_string(), "2024-07-31T14:05:09-03:30");
        assert_eq!(without.to_string(), "2024-07-31T14:05:09");
        for t in [with, without] {
            assert_eq!(t.to_string().parse::<TakenAt>().ok(), Some(t));
        }
        assert!("2024-07-31".parse::<TakenAt>().is_err());
        assert!("2024-07-31T14:05:09+02:7x".parse::<TakenAt>().is_err());
        assert!("yesterday at noon".parse::<TakenAt>().is_err());
    }
}
