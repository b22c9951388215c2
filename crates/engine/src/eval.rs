//! Evaluation harnesses: zero-shot accuracy over a folder of labelled photos, and image↔text
//! retrieval recall over a captions file. The metrics are the CLIP paper's, so a user with the
//! real weights can reproduce published numbers (CIFAR-10 zero-shot, Flickr / COCO recall).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use shoebox_core::Embedding;
use shoebox_ml::{Clip, ZeroShot, imagenet_templates};

use crate::{Engine, Error, Result};

/// Zero-shot accuracy, overall and per class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZeroShotReport {
    /// Photos evaluated.
    pub photos: usize,
    /// Share of photos whose label ranked first.
    pub top1: f64,
    /// Share of photos whose label ranked in the first five.
    pub top5: f64,
    /// Per class, in label order.
    pub classes: Vec<ClassReport>,
}

/// One class's accuracy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    /// The label (the folder name, `_` read as a space).
    pub label: String,
    /// Photos of this class.
    pub photos: usize,
    /// Top-1 accuracy within the class.
    pub top1: f64,
    /// Top-5 accuracy within the class.
    pub top5: f64,
}

/// Retrieval recall at 1, 5 and 10, both directions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrievalReport {
    /// Distinct images.
    pub images: usize,
    /// Captions.
    pub captions: usize,
    /// Image → text: the share of images with one of their captions in the top k, for k = 1, 5, 10.
    pub image_to_text: [f64; 3],
    /// Text → image: the share of captions whose image is in the top k.
    pub text_to_image: [f64; 3],
}

const KS: [usize; 3] = [1, 5, 10];

impl Engine {
    /// Zero-shot classification of `dir/LABEL/*` photos against every label.
    pub fn eval_zero_shot(
        &self,
        clip: &Clip,
        dir: &Path,
        templates: &[String],
    ) -> Result<ZeroShotReport> {
        let mut folders: Vec<PathBuf> = fs_err::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && !hidden(p))
            .collect();
        folders.sort();
        let labels: Vec<String> = folders
            .iter()
            .map(|f| {
                f.file_name()
                    .map(|n| n.to_string_lossy().replace('_', " "))
                    .unwrap_or_default()
            })
            .collect();
        if labels.len() < 2 {
            return Err(Error::BadPath {
                path: dir.to_owned(),
                reason: "needs one sub-folder per class, at least two".to_owned(),
            });
        }
        let templates: Vec<&str> = if templates.is_empty() {
            imagenet_templates()
        } else {
            templates.iter().map(String::as_str).collect()
        };
        let zero_shot = ZeroShot::new(clip, &labels, &templates)?;
        let mut ranks: Vec<(usize, usize)> = Vec::new();
        for (class, folder) in folders.iter().enumerate() {
            let mut files: Vec<PathBuf> = fs_err::read_dir(folder)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && !hidden(p))
                .collect();
            files.sort();
            for image in self.embed_files(clip, &files)? {
                let predictions = zero_shot.classify(&image)?;
                let rank = predictions
                    .iter()
                    .find(|p| p.label == labels[class])
                    .map_or(usize::MAX, |p| p.rank);
                ranks.push((class, rank));
            }
        }
        Ok(zero_shot_report(&labels, &ranks))
    }

    /// Retrieval over a TSV of `image path<TAB>caption` lines (paths relative to the file).
    pub fn eval_retrieval(&self, clip: &Clip, tsv: &Path) -> Result<RetrievalReport> {
        let base = tsv.parent().unwrap_or(Path::new("."));
        let text = fs_err::read_to_string(tsv)?;
        let mut images: Vec<PathBuf> = Vec::new();
        let mut pairs: Vec<(usize, String)> = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let (path, caption) = line.split_once('\t').ok_or_else(|| Error::BadPath {
                path: tsv.to_owned(),
                reason: format!("line {}: expected IMAGE<TAB>CAPTION", n + 1),
            })?;
            let path = base.join(path.trim());
            let index = images.iter().position(|p| *p == path).unwrap_or_else(|| {
                images.push(path);
                images.len() - 1
            });
            pairs.push((index, caption.trim().to_owned()));
        }
        let image_embeddings = self.embed_files(clip, &images)?;
        let captions: Vec<&str> = pairs.iter().map(|(_, c)| c.as_str()).collect();
        let text_embeddings = self.embed_texts(clip, &captions)?;
        let owners: Vec<usize> = pairs.iter().map(|(i, _)| *i).collect();
        Ok(retrieval_report(
            &image_embeddings,
            &text_embeddings,
            &owners,
        ))
    }
}

fn hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Accuracy from (true class, rank of the true label) pairs.
fn zero_shot_report(labels: &[String], ranks: &[(usize, usize)]) -> ZeroShotReport {
    let share = |hits: usize, of: usize| {
        if of == 0 {
            0.0
        } else {
            hits as f64 / of as f64
        }
    };
    let within = |rs: &[usize], k: usize| rs.iter().filter(|&&r| r <= k).count();
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(class, rank) in ranks {
        by_class.entry(class).or_default().push(rank);
    }
    let all: Vec<usize> = ranks.iter().map(|&(_, r)| r).collect();
    ZeroShotReport {
        photos: all.len(),
        top1: share(within(&all, 1), all.len()),
        top5: share(within(&all, 5), all.len()),
        classes: labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let rs = by_class.get(&i).map_or(&[][..], Vec::as_slice);
                ClassReport {
                    label: label.clone(),
                    photos: rs.len(),
                    top1: share(within(rs, 1), rs.len()),
                    top5: share(within(rs, 5), rs.len()),
                }
            })
            .collect(),
    }
}

/// Recall@{1,5,10} both ways; `owners[t]` is the image caption `t` describes.
fn retrieval_report(
    images: &[Embedding],
    texts: &[Embedding],
    owners: &[usize],
) -> RetrievalReport {
    // Rank of `target` among `scores` (1 = best; ties count against it).
    let rank = |scores: &[f32], target: &[usize]| {
        let best = target
            .iter()
            .map(|&t| scores[t])
            .fold(f32::NEG_INFINITY, f32::max);
        1 + scores
            .iter()
            .enumerate()
            .filter(|(i, s)| **s >= best && !target.contains(i))
            .count()
    };
    let recall = |ranks: &[usize]| {
        KS.map(|k| {
            if ranks.is_empty() {
                0.0
            } else {
                ranks.iter().filter(|&&r| r <= k).count() as f64 / ranks.len() as f64
            }
        })
    };
    let text_ranks: Vec<usize> = texts
        .iter()
        .zip(owners)
        .map(|(t, &owner)| {
            rank(
                &images.iter().map(|i| t.cosine(i)).collect::<Vec<_>>(),
                &[owner],
            )
        })
        .collect();
    let image_ranks: Vec<usize> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let mine: Vec<usize> = owners
                .iter()
                .enumerate()
                .filter(|&(_, &o)| o == i)
                .map(|(t, _)| t)
                .collect();
            rank(
                &texts.iter().map(|t| image.cosine(t)).collect::<Vec<_>>(),
                &mine,
            )
        })
        .collect();
    RetrievalReport {
        images: images.len(),
        captions: texts.len(),
        image_to_text: recall(&image_ranks),
        text_to_image: recall(&text_ranks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(v: &[f32]) -> Embedding {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        Embedding {
            model_id: "m".to_owned(),
            vector: v.iter().map(|x| x / norm).collect(),
        }
    }

    #[test]
    fn zero_shot_accuracy_counts_ranks() {
        let labels: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let report = zero_shot_report(&labels, &[(0, 1), (0, 2), (1, 1), (1, 7)]);
        assert_eq!(report.photos, 4);
        assert_eq!((report.top1, report.top5), (0.5, 0.75));
        assert_eq!((report.classes[0].top1, report.classes[0].top5), (0.5, 1.0));
        assert_eq!((report.classes[1].top1, report.classes[1].top5), (0.5, 0.5));
    }

    #[test]
    fn retrieval_recall_in_both_directions() {
        let images = [
            e(&[1.0, 0.0, 0.0]),
            e(&[0.0, 1.0, 0.0]),
            e(&[0.0, 0.0, 1.0]),
        ];
        // Caption 0 and 1 describe image 0 and 1 well; caption 2 (of image 2) is closest to image 0.
        let texts = [
            e(&[1.0, 0.1, 0.0]),
            e(&[0.1, 1.0, 0.0]),
            e(&[1.0, 0.0, 0.5]),
        ];
        let report = retrieval_report(&images, &texts, &[0, 1, 2]);
        assert_eq!((report.images, report.captions), (3, 3));
        let third = 2.0 / 3.0;
        assert_eq!(report.text_to_image, [third, 1.0, 1.0]);
        // Image 0's best caption is caption 0 (rank 1); image 2's caption ranks 1 among texts
        // for image 2 as well, since [1,0,0.5] is the only one with a z component.
        assert_eq!(report.image_to_text, [1.0, 1.0, 1.0]);
    }
}
