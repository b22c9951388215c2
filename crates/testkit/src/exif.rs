//! Writing EXIF into JPEG copies (kamadak-exif's writer), for orientation and metadata tests.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};

use crate::Result;
use crate::images::insert_segment;

/// EXIF fields to write; `None` leaves a field out.
#[derive(Debug, Clone, Default)]
pub struct ExifSpec {
    /// Orientation, 1–8.
    pub orientation: Option<u16>,
    /// `DateTimeOriginal`, `"YYYY:MM:DD HH:MM:SS"`.
    pub taken: Option<String>,
    /// `OffsetTimeOriginal`, `"+HH:MM"`.
    pub offset: Option<String>,
    /// Camera maker.
    pub make: Option<String>,
    /// Camera model.
    pub model: Option<String>,
    /// Lens model.
    pub lens: Option<String>,
    /// Exposure time as a fraction (numerator, denominator) of a second.
    pub exposure: Option<(u32, u32)>,
    /// ISO.
    pub iso: Option<u16>,
    /// Latitude and longitude in decimal degrees.
    pub gps: Option<(f64, f64)>,
}

/// Inserts an EXIF APP1 segment with `spec` right after the JPEG start marker.
pub fn with_exif(jpeg: &[u8], spec: &ExifSpec) -> Result<Vec<u8>> {
    let ascii = |tag, s: &str| Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    };
    let mut fields = Vec::new();
    if let Some(o) = spec.orientation {
        fields.push(Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![o]),
        });
    }
    for (tag, value) in [
        (Tag::DateTimeOriginal, &spec.taken),
        (Tag::OffsetTimeOriginal, &spec.offset),
        (Tag::Make, &spec.make),
        (Tag::Model, &spec.model),
        (Tag::LensModel, &spec.lens),
    ] {
        if let Some(v) = value {
            fields.push(ascii(tag, v));
        }
    }
    if let Some((num, denom)) = spec.exposure {
        fields.push(Field {
            tag: Tag::ExposureTime,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![Rational { num, denom }]),
        });
    }
    if let Some(iso) = spec.iso {
        fields.push(Field {
            tag: Tag::PhotographicSensitivity,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![iso]),
        });
    }
    if let Some((lat, lon)) = spec.gps {
        fields.push(ascii(
            Tag::GPSLatitudeRef,
            if lat < 0.0 { "S" } else { "N" },
        ));
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lat.abs())),
        });
        fields.push(ascii(
            Tag::GPSLongitudeRef,
            if lon < 0.0 { "W" } else { "E" },
        ));
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lon.abs())),
        });
    }
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false)?;
    let tiff = tiff.into_inner();

    insert_segment(jpeg, 0xE1, &[b"Exif\0\0", &tiff])
}

/// Degrees, minutes and seconds (to 1/1000 s) as EXIF rationals.
fn dms(deg: f64) -> Vec<Rational> {
    let d = deg.trunc();
    let m = ((deg - d) * 60.0).trunc();
    let s = ((deg - d) * 60.0 - m) * 60.0;
    vec![
        Rational {
            num: d as u32,
            denom: 1,
        },
        Rational {
            num: m as u32,
            denom: 1,
        },
        Rational {
            num: (s * 1000.0).round() as u32,
            denom: 1000,
        },
    ]
}
