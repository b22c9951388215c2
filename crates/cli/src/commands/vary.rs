//! `shoebox vary`.

use std::sync::atomic::AtomicBool;

use serde::Serialize;
use shoebox_core::{PhotoId, VariationRecord};
use shoebox_engine::{Engine, VaryRequest};

use crate::cli::VaryArgs;
use crate::output;

#[derive(Serialize)]
struct Report {
    source: PhotoId,
    prompt: String,
    seconds: f64,
    variations: Vec<VariationRecord>,
}

pub(crate) async fn run(engine: &Engine, photo: i64, args: &VaryArgs) -> anyhow::Result<()> {
    let source = PhotoId(photo);
    let request = VaryRequest {
        prompt: args.prompt.clone(),
        negative_prompt: args.negative_prompt.clone(),
        strength: args.strength,
        steps: args.steps,
        guidance: args.guidance,
        seed: args.seed,
        count: args.count,
        width: args.width,
        height: args.height,
    };
    let plan = engine.plan_variation(source, &request).await?;
    let model = engine.diffusion(args.diffusion_dir.as_deref())?;
    // The generated folder is a root before the first file lands in it.
    engine.generated_root().await?;
    let started = std::time::Instant::now();
    let bar = crate::progress::photos_bar(args.json, "varying");
    bar.set_length(plan.count as u64);
    // The command has nothing else to do meanwhile: the model runs on this thread.
    let never = AtomicBool::new(false);
    let made = engine.vary_photo(&model, &plan, &never, &mut |variation, step, steps| {
        bar.set_message(format!("variation {} step {step}/{steps}", variation + 1));
        if step == steps {
            bar.inc(1);
        }
    })?;
    bar.finish_and_clear();
    engine
        .record_variations(&plan, model.model_id(), &made)
        .await?;
    // Read, embedded and tagged like any photo, so searches with --generated find them.
    engine.index(&[], &()).await?;
    super::index::embed_new(engine, args.model.model_dir.as_deref(), true).await?;
    let variations: Vec<VariationRecord> = engine
        .variations_of(source)
        .await?
        .into_iter()
        .filter(|v| made.iter().any(|m| m.file == v.file))
        .collect();
    let report = Report {
        source,
        prompt: plan.variation.prompt.clone(),
        seconds: started.elapsed().as_secs_f64(),
        variations,
    };
    if args.json {
        return output::json(&report);
    }
    let dir = engine.data_dir().generated();
    let mut lines = vec![format!(
        "{} variations of photo {source} in {:.1} s, prompt {:?}:",
        report.variations.len(),
        report.seconds,
        report.prompt
    )];
    for v in &report.variations {
        let id = v.photo.map_or_else(|| "-".to_owned(), |p| p.to_string());
        lines.push(format!(
            "  photo {id}  seed {}  {}",
            v.seed,
            dir.join(&v.file).display()
        ));
    }
    output::text(lines)
}
