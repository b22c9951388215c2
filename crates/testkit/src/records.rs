//! Photo records for synthetic libraries: a record as a scan of a Pixel 7 JPEG would write it,
//! without any file behind it (benches fill stores with these).

use shoebox_core::{
    ContentHash, Exposure, FileStamp, ImageFormat, PhotoMetadata, PhotoWrite, RootId, ScanOutcome,
};

/// An indexed 4000×3000 JPEG's record at `rel_path` under `root`, with the given stamp and
/// content hash.
pub fn indexed_record(
    root: RootId,
    rel_path: String,
    stamp: FileStamp,
    hash: ContentHash,
) -> PhotoWrite {
    PhotoWrite::Insert {
        root,
        rel_path,
        stamp,
        hash: Some(hash),
        outcome: ScanOutcome::Indexed(PhotoMetadata {
            format: ImageFormat::Jpeg,
            width: 4000,
            height: 3000,
            orientation: 1,
            taken_at: None,
            gps: None,
            camera_make: Some("Google".to_owned()),
            camera_model: Some("Pixel 7".to_owned()),
            lens: None,
            exposure: Exposure::default(),
        }),
    }
}
