//! EXIF orientation 1–8 written into copies of a real photo: every thumbnail comes out upright.

use image::{DynamicImage, GenericImageView, RgbImage};
use shoebox_testkit::{ExifSpec, fixture, oriented, with_exif};

use crate::common::Library;

/// Mean absolute difference per channel between two images of equal size.
fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[tokio::test]
async fn thumbnails_come_out_upright_for_every_orientation() -> anyhow::Result<()> {
    let lib = Library::new().await?;
    // A landscape crop, so that turned thumbnails would also have the wrong shape.
    let upright = image::load_from_memory(&fixture("cat.jpg")?)?.crop_imm(0, 0, 400, 300);
    for n in 1..=8u8 {
        let stored = oriented(&upright, n)?;
        let spec = ExifSpec {
            orientation: Some(u16::from(n)),
            ..ExifSpec::default()
        };
        lib.put(&format!("o{n}.jpg"), &with_exif(&stored, &spec)?)?;
    }
    assert_eq!(lib.scan().await?.new, 8);

    let reference = DynamicImage::ImageRgb8(upright.to_rgb8())
        .resize(256, 256, image::imageops::FilterType::CatmullRom)
        .to_rgb8();
    assert_eq!(reference.dimensions(), (256, 192));
    let turned = image::imageops::rotate180(&reference);
    assert!(
        mean_abs_diff(&reference, &turned) > 25.0,
        "the comparison can tell a turned image"
    );

    for n in 1..=8u8 {
        let record = lib.record(&format!("o{n}.jpg")).await?;
        let photo = lib
            .engine
            .photo(record.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no photo"))?;
        let meta = photo
            .metadata
            .ok_or_else(|| anyhow::anyhow!("no metadata"))?;
        assert_eq!(
            (meta.orientation, meta.width, meta.height),
            (n, 400, 300),
            "orientation {n}"
        );

        let hash = record.hash.ok_or_else(|| anyhow::anyhow!("no hash"))?;
        let thumb = image::open(lib.thumbnail(256, &hash))?;
        assert_eq!(
            thumb.dimensions(),
            (256, 192),
            "orientation {n} thumbnail shape"
        );
        let diff = mean_abs_diff(&reference, &thumb.to_rgb8());
        assert!(
            diff < 8.0,
            "orientation {n}: thumbnail differs from upright by {diff:.1}"
        );
        let large = image::open(lib.thumbnail(1280, &hash))?;
        assert_eq!(large.dimensions(), (400, 300), "never enlarged");
    }
    Ok(())
}
