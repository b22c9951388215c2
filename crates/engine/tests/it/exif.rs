//! EXIF metadata lands in the store: date with offset, GPS, camera, lens, exposure.

use shoebox_testkit::{ExifSpec, fixture, with_exif};
use time::macros::{datetime, offset};

use crate::common::Library;

#[tokio::test]
async fn exif_fields_are_stored() -> anyhow::Result<()> {
    let lib = Library::new().await?;
    let spec = ExifSpec {
        taken: Some("2021:07:04 18:30:05".to_owned()),
        offset: Some("+02:00".to_owned()),
        make: Some("Canon".to_owned()),
        model: Some("Canon EOS R5".to_owned()),
        lens: Some("RF24-105mm F4 L IS USM".to_owned()),
        exposure: Some((1, 250)),
        iso: Some(400),
        gps: Some((48.8584, -2.2945)),
        ..ExifSpec::default()
    };
    let tagged = with_exif(&fixture("pagoda.jpg")?, &spec)?;
    lib.put("tagged.jpg", &tagged)?;
    lib.put("plain.jpg", &fixture("flower.jpg")?)?;
    lib.scan().await?;

    let id = lib.record("tagged.jpg").await?.id;
    let meta = lib
        .engine
        .photo(id)
        .await?
        .and_then(|p| p.metadata)
        .ok_or_else(|| anyhow::anyhow!("no metadata"))?;
    let taken = meta.taken_at.ok_or_else(|| anyhow::anyhow!("no date"))?;
    assert_eq!(taken.local, datetime!(2021-07-04 18:30:05));
    assert_eq!(taken.offset, Some(offset!(+2)));
    assert_eq!(taken.instant(), datetime!(2021-07-04 16:30:05 UTC));
    assert_eq!(meta.camera_make.as_deref(), Some("Canon"));
    assert_eq!(meta.camera_model.as_deref(), Some("Canon EOS R5"));
    assert_eq!(meta.lens.as_deref(), Some("RF24-105mm F4 L IS USM"));
    assert_eq!(meta.exposure.exposure_time_s, Some(0.004));
    assert_eq!(meta.exposure.iso, Some(400));
    let gps = meta.gps.ok_or_else(|| anyhow::anyhow!("no GPS"))?;
    assert!((gps.latitude - 48.8584).abs() < 1e-5, "{gps:?}");
    assert!((gps.longitude + 2.2945).abs() < 1e-5, "{gps:?}");
    assert_eq!(meta.orientation, 1);

    let plain_id = lib.record("plain.jpg").await?.id;
    let plain = lib
        .engine
        .photo(plain_id)
        .await?
        .and_then(|p| p.metadata)
        .ok_or_else(|| anyhow::anyhow!("no metadata"))?;
    assert_eq!(
        (plain.taken_at, plain.gps, plain.camera_make),
        (None, None, None)
    );
    Ok(())
}
