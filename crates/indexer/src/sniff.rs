//! Recognising image formats by their first bytes, never by extension.

use std::path::Path;

use shoebox_core::ImageFormat;

/// How many leading bytes [`sniff`] needs.
pub(crate) const SNIFF_LEN: usize = 64;

/// Extensions that promise an image: a file with one that is not an image is a failure worth
/// reporting, while other non-image files (videos, sidecars) are skipped silently.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "tif", "tiff", "bmp", "dib", "avif",
    "heic", "heif",
];

/// The format the leading bytes of a file announce.
pub(crate) fn sniff(head: &[u8]) -> Option<ImageFormat> {
    match head {
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(ImageFormat::Gif),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some(ImageFormat::Webp),
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Some(ImageFormat::Tiff),
        [b'B', b'M', ..] if is_bmp(head) => Some(ImageFormat::Bmp),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => sniff_isobmff(head),
        _ => None,
    }
}

/// BMP's two-byte magic is weak; also require a known DIB header size.
fn is_bmp(head: &[u8]) -> bool {
    head.get(14..18)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .is_some_and(|dib| matches!(dib, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124))
}

/// AVIF and HEIC share the ISO base media `ftyp` box; the brands tell them apart.
fn sniff_isobmff(head: &[u8]) -> Option<ImageFormat> {
    let box_len = head
        .get(0..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)? as usize;
    let ftyp = head.get(8..box_len.min(head.len()))?;
    // Major brand, minor version, then compatible brands.
    let brands = ftyp
        .chunks_exact(4)
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, b)| b);
    let mut heif = false;
    for brand in brands {
        match brand {
            b"avif" | b"avis" => return Some(ImageFormat::Avif),
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                heif = true
            }
            _ => {}
        }
    }
    heif.then_some(ImageFormat::Heic)
}

/// Whether the file name promises an image.
pub(crate) fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp(brands: &[&[u8; 4]]) -> Vec<u8> {
        let len = 8 + 4 * brands.len() + 4;
        let mut v = (len as u32).to_be_bytes().to_vec();
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(brands[0]);
        v.extend_from_slice(&[0, 0, 0, 0]);
        for b in &brands[1..] {
            v.extend_from_slice(*b);
        }
        v
    }

    #[test]
    fn recognises_each_format_by_content() {
        let mut bmp = b"BM".to_vec();
        bmp.resize(14, 0);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        let cases: Vec<(Vec<u8>, Option<ImageFormat>)> = vec![
            (vec![0xFF, 0xD8, 0xFF, 0xE0], Some(ImageFormat::Jpeg)),
            (b"\x89PNG\r\n\x1a\n\0\0".to_vec(), Some(ImageFormat::Png)),
            (b"GIF89a\x01\0".to_vec(), Some(ImageFormat::Gif)),
            (b"RIFF\0\0\0\0WEBPVP8 ".to_vec(), Some(ImageFormat::Webp)),
            (b"II*\0\x08\0".to_vec(), Some(ImageFormat::Tiff)),
            (b"MM\0*\0\0".to_vec(), Some(ImageFormat::Tiff)),
            (bmp, Some(ImageFormat::Bmp)),
            (ftyp(&[b"avif", b"mif1", b"miaf"]), Some(ImageFormat::Avif)),
            (ftyp(&[b"mif1", b"avif"]), Some(ImageFormat::Avif)),
            (ftyp(&[b"heic", b"mif1"]), Some(ImageFormat::Heic)),
            (ftyp(&[b"isom", b"mp42"]), None),
            (b"BMnot a bitmap header".to_vec(), None),
            (b"RIFF\0\0\0\0WAVEfmt ".to_vec(), None),
            (b"hello, world".to_vec(), None),
            (Vec::new(), None),
        ];
        for (head, want) in cases {
            assert_eq!(sniff(&head), want, "{head:?}");
        }
    }

    #[test]
    fn image_extensions_ignore_case() {
        assert!(has_image_extension(Path::new("a/B.JPG")));
        assert!(has_image_extension(Path::new("x.heic")));
        assert!(!has_image_extension(Path::new("clip.mov")));
        assert!(!has_image_extension(Path::new("README")));
    }
}
