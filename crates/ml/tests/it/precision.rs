//! A model loaded straight into a precision is the model loaded in f32 and converted: the
//! same numbers (to the bit in f32 and bf16), without holding both forms at once.

use shoebox_core::ImageEmbedder;
use shoebox_ml::{Clip, Device, ImageToText, Precision};

use crate::{blip_tiny, clip_tiny, photo};

#[test]
fn loading_in_a_precision_equals_converting_after_loading() -> anyhow::Result<()> {
    let image = photo("cat.jpg")?;
    for precision in [Precision::F32, Precision::Bf16, Precision::Q8_0] {
        let direct = Clip::load_in(&clip_tiny(), "clip-tiny", &Device::Cpu, precision)?;
        let mut converted = Clip::load(&clip_tiny(), "clip-tiny", &Device::Cpu)?;
        converted.set_precision(precision)?;
        // Quantised blocks of concatenated layers (query, key, value) are quantised again
        // from their dequantised values: equal to rounding, not to the bit.
        let tolerance = if precision == Precision::Q8_0 {
            1e-5
        } else {
            0.0
        };
        let pairs = [
            (
                direct.embed_images(std::slice::from_ref(&image))?.remove(0),
                converted
                    .embed_images(std::slice::from_ref(&image))?
                    .remove(0),
            ),
            (
                direct.embed_text("a photo of a cat")?,
                converted.embed_text("a photo of a cat")?,
            ),
        ];
        for (a, b) in pairs {
            let diff = a
                .vector
                .iter()
                .zip(&b.vector)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(diff <= tolerance, "{precision:?}: differs by {diff}");
        }
    }
    let direct = ImageToText::load_in(&blip_tiny(), "blip-tiny", &Device::Cpu, Precision::Bf16)?;
    let mut converted = ImageToText::load(&blip_tiny(), "blip-tiny", &Device::Cpu)?;
    converted.set_precision(Precision::Bf16)?;
    let caption = |m: &ImageToText| shoebox_core::Captioner::caption(m, &image, "en", "");
    assert_eq!(caption(&direct)?, caption(&converted)?);
    Ok(())
}
