//! Conversions between domain values and SQLite columns.

use shoebox_core::{ContentHash, Exposure, GpsPosition, PhotoMetadata, TakenAt};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::{Error, Result};

const LOCAL_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

pub(crate) fn now() -> String {
    timestamp(OffsetDateTime::now_utc())
}

pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    // RFC 3339 formatting only fails for years outside 0..=9999, which `now` never is.
    t.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn parse_timestamp(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| Error::Corrupt(format!("timestamp {s:?}: {e}")))
}

pub(crate) fn hash_from_blob(blob: Option<Vec<u8>>) -> Result<Option<ContentHash>> {
    blob.map(|b| ContentHash::try_from(b.as_slice()).map_err(|e| Error::Corrupt(e.to_string())))
        .transpose()
}

/// The metadata columns of `photos`, in the order [`MetadataColumns::from`] fills them.
#[derive(Debug, Default, sqlx::FromRow)]
pub(crate) struct MetadataColumns {
    pub(crate) format: Option<String>,
    pub(crate) width: Option<i64>,
    pub(crate) height: Option<i64>,
    pub(crate) orientation: Option<i64>,
    pub(crate) taken_at_local: Option<String>,
    pub(crate) taken_at_offset: Option<i64>,
    pub(crate) taken_at_utc: Option<i64>,
    pub(crate) gps_lat: Option<f64>,
    pub(crate) gps_lon: Option<f64>,
    pub(crate) gps_alt: Option<f64>,
    pub(crate) camera_make: Option<String>,
    pub(crate) camera_model: Option<String>,
    pub(crate) lens: Option<String>,
    pub(crate) exposure_time_s: Option<f64>,
    pub(crate) f_number: Option<f64>,
    pub(crate) iso: Option<i64>,
    pub(crate) focal_length_mm: Option<f64>,
}

impl From<&PhotoMetadata> for MetadataColumns {
    fn from(m: &PhotoMetadata) -> Self {
        Self {
            format: Some(m.format.as_str().to_owned()),
            width: Some(m.width.into()),
            height: Some(m.height.into()),
            orientation: Some(m.orientation.into()),
            taken_at_local: m.taken_at.and_then(|t| t.local.format(LOCAL_FORMAT).ok()),
            taken_at_offset: m
                .taken_at
                .and_then(|t| t.offset)
                .map(|o| o.whole_seconds().into()),
            taken_at_utc: m.taken_at.map(|t| t.instant().unix_timestamp()),
            gps_lat: m.gps.map(|g| g.latitude),
            gps_lon: m.gps.map(|g| g.longitude),
            gps_alt: m.gps.and_then(|g| g.altitude),
            camera_make: m.camera_make.clone(),
            camera_model: m.camera_model.clone(),
            lens: m.lens.clone(),
            exposure_time_s: m.exposure.exposure_time_s,
            f_number: m.exposure.f_number,
            iso: m.exposure.iso.map(i64::from),
            focal_length_mm: m.exposure.focal_length_mm,
        }
    }
}

impl MetadataColumns {
    /// Binds the columns in declaration order.
    pub(crate) fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
        q.bind(self.format)
            .bind(self.width)
            .bind(self.height)
            .bind(self.orientation)
            .bind(self.taken_at_local)
            .bind(self.taken_at_offset)
            .bind(self.taken_at_utc)
            .bind(self.gps_lat)
            .bind(self.gps_lon)
            .bind(self.gps_alt)
            .bind(self.camera_make)
            .bind(self.camera_model)
            .bind(self.lens)
            .bind(self.exposure_time_s)
            .bind(self.f_number)
            .bind(self.iso)
            .bind(self.focal_length_mm)
    }

    /// Reads the metadata back; `None` when the photo never indexed.
    pub(crate) fn into_metadata(self) -> Result<Option<PhotoMetadata>> {
        let (Some(format), Some(width), Some(height), Some(orientation)) =
            (self.format, self.width, self.height, self.orientation)
        else {
            return Ok(None);
        };
        let corrupt = |what: &str| Error::Corrupt(what.to_owned());
        let taken_at = self
            .taken_at_local
            .map(|s| -> Result<TakenAt> {
                let local = PrimitiveDateTime::parse(&s, LOCAL_FORMAT)
                    .map_err(|e| Error::Corrupt(format!("taken_at {s:?}: {e}")))?;
                let offset = self
                    .taken_at_offset
                    .map(|secs| {
                        i32::try_from(secs)
                            .ok()
                            .and_then(|s| UtcOffset::from_whole_seconds(s).ok())
                            .ok_or_else(|| corrupt("taken_at offset"))
                    })
                    .transpose()?;
                Ok(TakenAt { local, offset })
            })
            .transpose()?;
        let gps = match (self.gps_lat, self.gps_lon) {
            (Some(latitude), Some(longitude)) => Some(GpsPosition {
                latitude,
                longitude,
                altitude: self.gps_alt,
            }),
            _ => None,
        };
        Ok(Some(PhotoMetadata {
            format: format.parse().map_err(|_| corrupt("format"))?,
            width: u32::try_from(width).map_err(|_| corrupt("width"))?,
            height: u32::try_from(height).map_err(|_| corrupt("height"))?,
            orientation: u8::try_from(orientation).map_err(|_| corrupt("orientation"))?,
            taken_at,
            gps,
            camera_make: self.camera_make,
            camera_model: self.camera_model,
            lens: self.lens,
            exposure: Exposure {
                exposure_time_s: self.exposure_time_s,
                f_number: self.f_number,
                iso: self.iso.and_then(|i| u32::try_from(i).ok()),
                focal_length_mm: self.focal_length_mm,
            },
        }))
    }
}
