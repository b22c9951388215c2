//! Reading EXIF (kamadak-exif): orientation, date taken, GPS, camera, lens, exposure.

use std::io::Cursor;

use exif::{Exif, In, Tag, Value};
use shoebox_core::{Exposure, GpsPosition, TakenAt};
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// The EXIF fields Shoebox keeps; every field is optional in real files.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ExifFields {
    pub(crate) orientation: Option<u8>,
    pub(crate) taken_at: Option<TakenAt>,
    pub(crate) gps: Option<GpsPosition>,
    pub(crate) camera_make: Option<String>,
    pub(crate) camera_model: Option<String>,
    pub(crate) lens: Option<String>,
    pub(crate) exposure: Exposure,
}

/// Reads EXIF from a whole file's bytes. Files without EXIF, or with EXIF too broken to read,
/// give the empty set: metadata is a bonus, never a reason to reject a photo.
pub(crate) fn read(bytes: &[u8]) -> ExifFields {
    match exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => fields(&exif),
        Err(e) => {
            tracing::trace!("no usable EXIF: {e}");
            ExifFields::default()
        }
    }
}

fn fields(exif: &Exif) -> ExifFields {
    let value = |tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);
    let text = |tag| value(tag).and_then(ascii);
    let real = |tag| value(tag).and_then(|v| rational(v, 0));
    ExifFields {
        orientation: value(Tag::Orientation)
            .and_then(|v| v.get_uint(0))
            .and_then(|o| u8::try_from(o).ok())
            .filter(|o| (1..=8).contains(o)),
        taken_at: [
            (Tag::DateTimeOriginal, Tag::OffsetTimeOriginal),
            (Tag::DateTimeDigitized, Tag::OffsetTimeDigitized),
            (Tag::DateTime, Tag::OffsetTime),
        ]
        .into_iter()
        .find_map(|(date, offset)| taken_at(value(date)?, value(offset))),
        gps: gps(exif),
        camera_make: text(Tag::Make),
        camera_model: text(Tag::Model),
        lens: text(Tag::LensModel),
        exposure: Exposure {
            exposure_time_s: real(Tag::ExposureTime),
            f_number: real(Tag::FNumber),
            iso: value(Tag::PhotographicSensitivity).and_then(|v| v.get_uint(0)),
            focal_length_mm: real(Tag::FocalLength),
        },
    }
}

/// The first ASCII string, trimmed; `None` when blank.
fn ascii(v: &Value) -> Option<String> {
    let Value::Ascii(strings) = v else {
        return None;
    };
    let s = String::from_utf8_lossy(strings.first()?);
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_owned())
}

fn rational(v: &Value, i: usize) -> Option<f64> {
    let x = match v {
        Value::Rational(r) => r.get(i).filter(|r| r.denom != 0)?.to_f64(),
        Value::SRational(r) => r.get(i).filter(|r| r.denom != 0)?.to_f64(),
        _ => v.get_uint(i).map(f64::from)?,
    };
    x.is_finite().then_some(x)
}

fn taken_at(date: &Value, offset: Option<&Value>) -> Option<TakenAt> {
    let Value::Ascii(strings) = date else {
        return None;
    };
    let mut dt = exif::DateTime::from_ascii(strings.first()?).ok()?;
    if let Some(Value::Ascii(o)) = offset {
        // A malformed offset leaves the time without one.
        let _ = o.first().map(|o| dt.parse_offset(o));
    }
    let date =
        Date::from_calendar_date(dt.year.into(), Month::try_from(dt.month).ok()?, dt.day).ok()?;
    let time = Time::from_hms(dt.hour, dt.minute, dt.second).ok()?;
    Some(TakenAt {
        local: PrimitiveDateTime::new(date, time),
        offset: dt
            .offset
            .and_then(|minutes| UtcOffset::from_whole_seconds(i32::from(minutes) * 60).ok()),
    })
}

fn gps(exif: &Exif) -> Option<GpsPosition> {
    let value = |tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);
    let degrees = |tag, ref_tag, negative: &[u8]| -> Option<f64> {
        let v = value(tag)?;
        let deg = rational(v, 0)?
            + rational(v, 1).unwrap_or(0.0) / 60.0
            + rational(v, 2).unwrap_or(0.0) / 3600.0;
        let sign = match value(ref_tag) {
            Some(Value::Ascii(r)) if r.first().is_some_and(|r| r.as_slice() == negative) => -1.0,
            _ => 1.0,
        };
        Some(sign * deg)
    };
    let latitude = degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, b"S")?;
    let longitude = degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, b"W")?;
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return None;
    }
    let altitude = value(Tag::GPSAltitude)
        .and_then(|v| rational(v, 0))
        .map(|alt| {
            // GPSAltitudeRef 1 means below sea level.
            match value(Tag::GPSAltitudeRef).and_then(|v| v.get_uint(0)) {
                Some(1) => -alt,
                _ => alt,
            }
        });
    Some(GpsPosition {
        latitude,
        longitude,
        altitude,
    })
}
