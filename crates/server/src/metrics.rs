//! Request metrics for Prometheus — a latency histogram per method, route and status — the
//! request log line and the request timeout, all in one middleware on every matched route;
//! model timings by operation; `/metrics` renders them with the library's queue depths and
//! photo counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shoebox_core::MetadataStore;

use crate::auth::Admin;
use crate::{ApiError, AppState};

/// How long a request may take to produce its response head (streams go on after it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// One series: observations by latency bucket, their count and total seconds.
#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, le) in self.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= le {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    /// The series `name{labels}` in Prometheus' text format.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (count, le) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// Every series: requests by method, route and status; model work by operation.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    models: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        series
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default()
            .observe(seconds);
    }

    /// Records `seconds` of model work for `operation` (`search`, `classify`, `ask`, …).
    pub(crate) fn observe_model(&self, operation: &'static str, seconds: f64) {
        let mut series = self.models.lock().unwrap_or_else(PoisonError::into_inner);
        series.entry(operation).or_default().observe(seconds);
    }

    /// The histograms in Prometheus' text format.
    fn render(&self, out: &mut String) {
        let name = "shoebox_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time to the response head, by route.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let series = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        for ((method, route, status), h) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            h.render(out, name, &labels);
        }
        drop(series);
        let name = "shoebox_model_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time of model work (encoding a query, an image; answering), by operation."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        let series = self.models.lock().unwrap_or_else(PoisonError::into_inner);
        for (operation, h) in series.iter() {
            h.render(out, name, &format!("operation=\"{operation}\""));
        }
    }
}

/// Times each matched request (its route as declared, never the raw path) and cuts it off
/// after [`REQUEST_TIMEOUT`].
pub(crate) async fn track(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the server took too long; try again",
        )
        .into_response(),
    };
    let (status, seconds) = (response.status().as_u16(), started.elapsed().as_secs_f64());
    state.metrics.observe(&method, &route, status, seconds);
    tracing::info!(
        target: "shoebox::http",
        method,
        route,
        status,
        ms = (seconds * 1000.0).round(),
        "request"
    );
    response
}

/// `GET /metrics` (an admin's session or API token): request histograms, jobs by kind and
/// state, photos by status.
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
) -> Result<String, ApiError> {
    let mut out = String::new();
    state.metrics.render(&mut out);
    let store = state.engine.store();
    let _ = writeln!(
        out,
        "# HELP shoebox_jobs Jobs in the queue, by kind and state."
    );
    let _ = writeln!(out, "# TYPE shoebox_jobs gauge");
    for c in shoebox_core::JobQueue::job_counts(state.engine.queue()).await? {
        for (job_state, n) in [
            ("queued", c.queued),
            ("running", c.running),
            ("dead", c.dead),
        ] {
            let _ = writeln!(
                out,
                "shoebox_jobs{{kind=\"{}\",state=\"{job_state}\"}} {n}",
                c.kind
            );
        }
    }
    let status = store.status(0).await?;
    let _ = writeln!(out, "# HELP shoebox_photos Photos by status.");
    let _ = writeln!(out, "# TYPE shoebox_photos gauge");
    for (photo_state, n) in [
        ("ok", status.ok),
        ("failed", status.failed),
        ("gone", status.gone),
    ] {
        let _ = writeln!(out, "shoebox_photos{{status=\"{photo_state}\"}} {n}");
    }
    Ok(out)
}
