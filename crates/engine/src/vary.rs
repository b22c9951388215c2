//! "More like this": Stable Diffusion img2img variations of a photo. A request is checked
//! against `[vary]`'s limits and completed from its defaults (the prompt: the photo's caption);
//! each variation is written as a PNG into the data directory's `generated` folder — a library
//! root of its own, so the scan, CLIP, tags and captions treat it as any photo — and recorded
//! with its source, prompt, seed, model and strength. Search leaves generated photos out unless
//! asked (`generated` filter).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};
use shoebox_core::{MetadataStore, PhotoId, Root, VariationRecord};
use shoebox_ml::{StableDiffusion, Variation};

use crate::{Engine, Error, Result};

/// The `[vary]` section: defaults and limits of "more like this".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarySettings {
    /// The Stable Diffusion checkpoint's folder name under the models folder.
    pub model: String,
    /// How far from the photo (0 keeps it, 1 ignores it).
    pub strength: f64,
    /// Sampler steps over the whole schedule (`⌊steps × strength⌋` run).
    pub steps: usize,
    /// Classifier-free guidance; 1 or less is off (SD-Turbo is trained without).
    pub guidance: f64,
    /// The longer side of the output, in pixels (a multiple of 64).
    pub size: u32,
    /// The most pixels along either side a request may ask for.
    pub max_size: u32,
    /// The most steps a request may ask for.
    pub max_steps: usize,
    /// The most variations one request may ask for.
    pub max_count: usize,
    /// The most requests waiting at once; more are refused until some finish.
    pub max_queued: usize,
    /// A request still running after this many seconds is stopped.
    pub time_limit_seconds: u64,
}

/// What a person asks for; anything left out takes `[vary]`'s default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VaryRequest {
    /// What the variations should show; the photo's caption when left out.
    pub prompt: Option<String>,
    /// What they should not show (with guidance above 1).
    pub negative_prompt: Option<String>,
    /// 0 (the photo itself) to 1 (the prompt alone).
    pub strength: Option<f64>,
    /// Sampler steps.
    pub steps: Option<usize>,
    /// Classifier-free guidance scale.
    pub guidance: Option<f64>,
    /// The first variation's seed (the next ones count up); random when left out.
    pub seed: Option<u64>,
    /// How many variations.
    pub count: Option<usize>,
    /// Output width (a multiple of 64); with `height`, else from the photo's shape.
    pub width: Option<u32>,
    /// Output height (a multiple of 64).
    pub height: Option<u32>,
}

/// A checked request, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct VaryPlan {
    /// The photo varied.
    pub source: PhotoId,
    /// Its file.
    pub path: PathBuf,
    /// The first variation (the next ones' seeds count up).
    pub variation: Variation,
    /// How many.
    pub count: usize,
}

/// A variation written to the generated folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Varied {
    /// Its file name in the generated folder.
    pub file: String,
    /// Its seed.
    pub seed: u64,
}

impl Engine {
    /// Loads the Stable Diffusion checkpoint from `model_dir`, or from the models folder
    /// `[vary] model` names.
    pub fn diffusion(&self, model_dir: Option<&Path>) -> Result<StableDiffusion> {
        let (dir, id) = self.diffusion_folder(model_dir)?;
        let device = shoebox_ml::device(&self.settings().models.device)?;
        Ok(StableDiffusion::load(&dir, id, &device)?)
    }

    /// The library root generated photos are written to (`DATA_DIR/generated`), made on
    /// first use.
    pub async fn generated_root(&self) -> Result<Root> {
        let dir = self.data_dir().generated();
        fs_err::create_dir_all(&dir)?;
        Ok(self.add_root(&dir).await?.0)
    }

    /// Whether the Stable Diffusion model `[vary] model` names is in the models folder (an
    /// error naming how to install it if not); it is loaded when first used.
    pub fn diffusion_installed(&self) -> Result<()> {
        self.diffusion_folder(None).map(|_| ())
    }

    fn diffusion_folder(&self, model_dir: Option<&Path>) -> Result<(PathBuf, String)> {
        self.model_folder(&self.settings().vary.model, model_dir)
            .map_err(|e| match e {
                Error::ModelMissing { name, dir } => Error::DiffusionMissing { name, dir },
                other => other,
            })
    }

    /// The generated folder's root, when it has been made.
    pub(crate) async fn generated_root_id(&self) -> Result<Option<shoebox_core::RootId>> {
        let dir = self.data_dir().generated();
        let Ok(dir) = fs_err::canonicalize(&dir) else {
            return Ok(None);
        };
        Ok(self
            .roots()
            .await?
            .into_iter()
            .find(|r| r.path == dir)
            .map(|r| r.id))
    }

    /// `request` for `source`, checked against `[vary]`'s limits, with its defaults filled in.
    pub async fn plan_variation(&self, source: PhotoId, request: &VaryRequest) -> Result<VaryPlan> {
        let settings = &self.settings().vary;
        let invalid = |what: String| Err(Error::Library(shoebox_core::Error::Invalid(what)));
        let missing = || shoebox_core::Error::NotFound {
            what: format!("photo {source}"),
        };
        let photo = self.store().photo(source).await?.ok_or_else(missing)?;
        let path = self.photo_path(source).await?.ok_or_else(missing)?;
        let steps = request.steps.unwrap_or(settings.steps);
        if steps == 0 || steps > settings.max_steps {
            return invalid(format!("{steps} steps (1 to {})", settings.max_steps));
        }
        let count = request.count.unwrap_or(1);
        if count == 0 || count > settings.max_count {
            return invalid(format!("{count} variations (1 to {})", settings.max_count));
        }
        let (width, height) = match (request.width, request.height) {
            (Some(w), Some(h)) => (w, h),
            (None, None) => shape(
                photo.metadata.as_ref().map(|m| (m.width, m.height)),
                settings.size,
            ),
            _ => return invalid("give both width and height, or neither".to_owned()),
        };
        if width > settings.max_size || height > settings.max_size {
            return invalid(format!(
                "{width}×{height} is larger than {} pixels a side",
                settings.max_size
            ));
        }
        let prompt = match &request.prompt {
            Some(p) => crate::input::one_line(p, 500, "a prompt")?.to_owned(),
            None => self.caption_of(source).await?,
        };
        let negative_prompt = match request.negative_prompt.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => crate::input::one_line(p, 500, "a negative prompt")?,
            _ => "",
        }
        .to_owned();
        let variation = Variation {
            prompt,
            negative_prompt,
            strength: request.strength.unwrap_or(settings.strength),
            steps,
            guidance: request.guidance.unwrap_or(settings.guidance),
            seed: request.seed.unwrap_or_else(random_seed),
            width,
            height,
        };
        variation.check()?;
        Ok(VaryPlan {
            source,
            path,
            variation,
            count,
        })
    }

    /// The photo's caption (English first), or "a photo" before it has one.
    async fn caption_of(&self, photo: PhotoId) -> Result<String> {
        let mut captions = self
            .captions_by_photo(Some(photo))
            .await?
            .remove(&photo)
            .unwrap_or_default();
        captions.sort_by_key(|c| c.lang != "en");
        Ok(captions
            .into_iter()
            .next()
            .map_or_else(|| "a photo".to_owned(), |c| c.text))
    }

    /// Runs `plan` with `model` (blocking: call from a worker thread): each variation written
    /// into the generated folder as it is made; a request that fails or is cancelled part-way
    /// removes what it wrote. `on_step(variation, step, steps)` after each
    /// sampler step; stops before the next step once `cancel` is set.
    pub fn vary_photo(
        &self,
        model: &StableDiffusion,
        plan: &VaryPlan,
        cancel: &AtomicBool,
        on_step: &mut dyn FnMut(usize, usize, usize),
    ) -> Result<Vec<Varied>> {
        plan.variation.check()?;
        let photo = self.load_file(&plan.path)?;
        let dir = self.data_dir().generated();
        fs_err::create_dir_all(&dir)?;
        let mut made: Vec<Varied> = Vec::with_capacity(plan.count);
        for i in 0..plan.count {
            let variation = Variation {
                seed: plan.variation.seed.wrapping_add(i as u64),
                ..plan.variation.clone()
            };
            let file = format!("{}-{}-{}.png", plan.source, variation.seed, unique());
            let written = model
                .vary(&photo, &variation, cancel, &mut |step, steps| {
                    on_step(i, step, steps);
                })
                .map_err(Error::from)
                .and_then(|image| {
                    write_png(&self.data_dir().generating(), &dir.join(&file), image)
                });
            if let Err(e) = written {
                // A request makes all its variations or none: what it wrote goes.
                for earlier in &made {
                    let _ = fs_err::remove_file(dir.join(&earlier.file));
                }
                return Err(e);
            }
            made.push(Varied {
                file,
                seed: variation.seed,
            });
        }
        Ok(made)
    }

    /// Records what `vary_photo` made from `plan` with `model` (and makes sure the generated
    /// folder is a root, so the scan reads them).
    pub async fn record_variations(
        &self,
        plan: &VaryPlan,
        model: &str,
        made: &[Varied],
    ) -> Result<()> {
        self.generated_root().await?;
        for varied in made {
            self.store()
                .add_variation(&VariationRecord {
                    source: plan.source,
                    file: varied.file.clone(),
                    photo: None,
                    prompt: plan.variation.prompt.clone(),
                    negative_prompt: plan.variation.negative_prompt.clone(),
                    seed: varied.seed,
                    model: model.to_owned(),
                    strength: plan.variation.strength,
                    steps: plan.variation.steps,
                    guidance: plan.variation.guidance,
                    created_at: String::new(),
                })
                .await?;
        }
        Ok(())
    }

    /// The variations made from `source`, oldest first, each with its photo once scanned.
    pub async fn variations_of(&self, source: PhotoId) -> Result<Vec<VariationRecord>> {
        let Some(root) = self.generated_root_id().await? else {
            return Ok(Vec::new());
        };
        Ok(self.store().variations(source, root).await?)
    }
}

/// An output shape of the photo's proportions (upright `(width, height)`, when known): the
/// longer side `size`, the other rounded to a multiple of 64 (at least 64).
fn shape(upright: Option<(u32, u32)>, size: u32) -> (u32, u32) {
    let Some((w, h)) = upright else {
        return (size, size);
    };
    let short = |long: u32, short: u32| {
        let scaled = f64::from(size) * f64::from(short) / f64::from(long.max(1));
        ((scaled / 64.0).round() as u32).max(1) * 64
    };
    if w >= h {
        (size, short(w, h))
    } else {
        (short(h, w), size)
    }
}

/// A random seed, for requests that name none (recorded with the result); the clock where
/// the system has no randomness to give.
fn random_seed() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64
    })
}

/// A short stamp that keeps two runs' file names apart.
fn unique() -> String {
    format!("{:06x}", random_seed() & 0xff_ffff)
}

/// Writes `image` as a PNG at `path`: first beside the generated folder (outside every root),
/// then renamed into place, so a scan never reads half a file.
fn write_png(partial_dir: &Path, path: &Path, image: shoebox_core::Pixels) -> Result<()> {
    let buffer = image::RgbImage::from_raw(image.width, image.height, image.rgb)
        .ok_or_else(|| Error::Library(shoebox_core::Error::Invalid("a broken image".to_owned())))?;
    fs_err::create_dir_all(partial_dir)?;
    let partial = partial_dir.join(path.file_name().unwrap_or_default());
    buffer
        .save_with_format(&partial, image::ImageFormat::Png)
        .map_err(|e| Error::BadPath {
            path: partial.clone(),
            reason: e.to_string(),
        })?;
    fs_err::rename(&partial, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_keep_the_photos_proportions() {
        assert_eq!(shape(Some((4000, 3000)), 512), (512, 384));
        assert_eq!(shape(Some((3000, 4000)), 512), (384, 512));
        assert_eq!(shape(Some((100, 100)), 512), (512, 512));
        assert_eq!(shape(Some((10_000, 10)), 512), (512, 64));
        assert_eq!(shape(None, 512), (512, 512));
    }
}
