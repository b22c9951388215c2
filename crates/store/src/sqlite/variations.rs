//! Variations Stable Diffusion made from photos.

use shoebox_core::{PhotoId, RootId, VariationRecord};
use sqlx::SqlitePool;

use super::codec::now;
use crate::Result;
use crate::error::QueryContext;

pub(crate) async fn add(pool: &SqlitePool, v: &VariationRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO variations (source_id, file, prompt, negative_prompt, seed, model, strength,
                                 steps, guidance, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(v.source.0)
    .bind(&v.file)
    .bind(&v.prompt)
    .bind(&v.negative_prompt)
    // SQLite integers are i64: the seed's bits are kept, read back as u64.
    .bind(v.seed.cast_signed())
    .bind(&v.model)
    .bind(v.strength)
    .bind(i64::try_from(v.steps).unwrap_or(i64::MAX))
    .bind(v.guidance)
    .bind(now())
    .execute(pool)
    .await
    .context("recording a variation")?;
    Ok(())
}

type Row = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    i64,
    String,
    f64,
    i64,
    f64,
    String,
);

pub(crate) async fn of(
    pool: &SqlitePool,
    source: PhotoId,
    generated: RootId,
) -> Result<Vec<VariationRecord>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT v.source_id, v.file, p.id, v.prompt, v.negative_prompt, v.seed, v.model,
                v.strength, v.steps, v.guidance, v.created_at
         FROM variations v
         LEFT JOIN photos p ON p.root_id = ? AND p.rel_path = v.file AND p.status = 'ok'
         WHERE v.source_id = ?
         ORDER BY v.id",
    )
    .bind(generated.0)
    .bind(source.0)
    .fetch_all(pool)
    .await
    .context("listing a photo's variations")?;
    Ok(rows
        .into_iter()
        .map(|r| VariationRecord {
            source: PhotoId(r.0),
            file: r.1,
            photo: r.2.map(PhotoId),
            prompt: r.3,
            negative_prompt: r.4,
            seed: r.5.cast_unsigned(),
            model: r.6,
            strength: r.7,
            steps: usize::try_from(r.8).unwrap_or(0),
            guidance: r.9,
            created_at: r.10,
        })
        .collect())
}
