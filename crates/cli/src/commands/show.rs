//! `shoebox show`.

use shoebox_core::PhotoId;
use shoebox_engine::Engine;

use crate::output;

pub(crate) async fn run(engine: &Engine, id: i64, json: bool) -> anyhow::Result<()> {
    let photo = engine
        .photo(PhotoId(id))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no photo with id {id}"))?;
    if json {
        return output::json(&photo);
    }
    let mut lines = vec![
        format!("photo {}: {} ({})", photo.id, photo.rel_path, photo.status),
        format!("  size: {} bytes", photo.stamp.size),
    ];
    if let Some(hash) = photo.hash {
        lines.push(format!("  blake3: {hash}"));
    }
    if let Some(reason) = &photo.error {
        lines.push(format!("  error: {reason}"));
    }
    if let Some(m) = &photo.metadata {
        lines.push(format!(
            "  {} {}×{} orientation {}",
            m.format, m.width, m.height, m.orientation
        ));
        if let Some(t) = m.taken_at {
            let offset = t.offset.map(|o| format!(" {o}")).unwrap_or_default();
            lines.push(format!("  taken: {}{offset}", t.local));
        }
        let camera: Vec<&str> = [&m.camera_make, &m.camera_model, &m.lens]
            .into_iter()
            .filter_map(|s| s.as_deref())
            .collect();
        if !camera.is_empty() {
            lines.push(format!("  camera: {}", camera.join(" · ")));
        }
        if let Some(g) = m.gps {
            lines.push(format!("  gps: {:.6}, {:.6}", g.latitude, g.longitude));
        }
    }
    output::text(lines)
}
