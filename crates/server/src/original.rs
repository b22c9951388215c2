//! Originals: a photo's own file, by id only, served only from inside its library root (the
//! path resolved with every symlink first), with single byte ranges for viewers and players.

use std::io::SeekFrom;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::error::internal;
use crate::params::photo_id;
use crate::{ApiError, AppState};

/// `GET /api/v1/photos/{id}/original`.
#[utoipa::path(get, path = "/photos/{id}/original", tag = "photos", params(("id" = i64, Path, description = "The photo's id", minimum = 1)), responses((status = 200, description = "The original file"), (status = 206, description = "A byte range of it"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "The file lies outside its root", body = ErrorBody), (status = 404, description = "No such photo or file", body = ErrorBody), (status = 416, description = "Range not satisfiable")))]
pub(crate) async fn original(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = photo_id(&id)?;
    let photo = state
        .engine
        .photo(id)
        .await?
        .ok_or_else(|| ApiError::not_found("photo"))?;
    let roots = state.engine.roots().await?;
    let root = roots
        .iter()
        .find(|r| r.id == photo.root)
        .ok_or_else(|| ApiError::not_found("photo"))?;
    let missing = |_| ApiError::not_found("original file");
    let file_path = tokio::fs::canonicalize(root.path.join(&photo.rel_path))
        .await
        .map_err(missing)?;
    let root_path = tokio::fs::canonicalize(&root.path).await.map_err(missing)?;
    if !file_path.starts_with(&root_path) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "outside_root",
            "this photo's file lies outside its library folder (a symbolic link leads away)",
        ));
    }
    let mut file = tokio::fs::File::open(&file_path).await.map_err(missing)?;
    let len = file.metadata().await.map_err(|e| internal(&e))?.len();
    let mime = photo
        .metadata
        .as_ref()
        .map_or("application/octet-stream", |m| m.format.mime());
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(spec) => match byte_range(spec, len) {
            Ok(range) => range,
            Err(()) => {
                let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_RANGE, value(&format!("bytes */{len}"))?);
                return Ok(response);
            }
        },
        None => None,
    };
    let (status, start, count) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        None => (StatusCode::OK, 0, len),
    };
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(|e| internal(&e))?;
    let mut response = Response::new(Body::from_stream(ReaderStream::new(file.take(count))));
    *response.status_mut() = status;
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    out.insert(header::CONTENT_LENGTH, value(&count.to_string())?);
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        out.insert(
            header::CONTENT_RANGE,
            value(&format!("bytes {start}-{}/{len}", start + count - 1))?,
        );
    }
    Ok(response)
}

fn value(s: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(s).map_err(|e| internal(&e))
}

/// The one byte range (first and last byte, inclusive) a `Range` header asks of a file of
/// `len` bytes: `Ok(None)` to send it whole (several ranges, another unit), `Err` when the
/// range cannot be satisfied.
fn byte_range(spec: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(ranges) = spec.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if ranges.contains(',') {
        return Ok(None);
    }
    let (first, last) = ranges.split_once('-').ok_or(())?;
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = if first.is_empty() {
        // The last `last` bytes.
        let suffix: u64 = last.parse().map_err(|_| ())?;
        if suffix == 0 || len == 0 {
            return Err(());
        }
        (len.saturating_sub(suffix), len - 1)
    } else {
        let start: u64 = first.parse().map_err(|_| ())?;
        let end = if last.is_empty() {
            len.saturating_sub(1)
        } else {
            last.parse::<u64>()
                .map_err(|_| ())?
                .min(len.saturating_sub(1))
        };
        (start, end)
    };
    if start >= len || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_parse_clamp_and_refuse() {
        assert_eq!(byte_range("bytes=0-99", 1000), Ok(Some((0, 99))));
        assert_eq!(byte_range("bytes=900-", 1000), Ok(Some((900, 999))));
        assert_eq!(byte_range("bytes=-100", 1000), Ok(Some((900, 999))));
        assert_eq!(byte_range("bytes=990-2000", 1000), Ok(Some((990, 999))));
        assert_eq!(
            byte_range("bytes=0-1,5-9", 1000),
            Ok(None),
            "several: whole file"
        );
        assert_eq!(byte_range("items=0-1", 1000), Ok(None));
        for bad in [
            "bytes=1000-",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-0",
            "bytes=7",
        ] {
            assert_eq!(byte_range(bad, 1000), Err(()), "{bad}");
        }
    }
}
