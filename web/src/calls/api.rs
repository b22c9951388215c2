//! What the browser asks the HTTP API itself rather than a server function: a search by an
//! uploaded photo (a raw body), one question over several photos (a stream of answers), and
//! variations of a photo (queued; their progress is a stream the page follows).
//! Both carry the session's anti-forgery token, as the API requires of unsafe methods.

use leptos::wasm_bindgen::{JsCast, JsValue};
use serde::Deserialize;

use super::{Hit, Hits};

/// POSTs `body` to the API route `url`, with the session's CSRF token: the response when the
/// API answered 2xx, else the API's error message.
async fn post(url: &str, body: &JsValue, json: bool) -> Result<web_sys::Response, String> {
    let csrf = super::account::csrf_token()
        .await
        .map_err(|e| e.to_string())?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(body);
    let headers = web_sys::Headers::new().map_err(|_| "headers".to_owned())?;
    headers
        .set("x-csrf-token", &csrf)
        .map_err(|_| "headers".to_owned())?;
    if json {
        headers
            .set("content-type", "application/json")
            .map_err(|_| "headers".to_owned())?;
    }
    init.set_headers(&headers);
    let request =
        web_sys::Request::new_with_str_and_init(url, &init).map_err(|_| "request".to_owned())?;
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| "the server could not be reached".to_owned())?
            .dyn_into()
            .map_err(|_| "not a response".to_owned())?;
    if response.ok() {
        return Ok(response);
    }
    let text = text(&response).await.unwrap_or_default();
    Err(error_message(&text)
        .unwrap_or_else(|| format!("the server answered {}", response.status())))
}

/// The message of an API error body (`{"error": {"code", "message"}}`).
fn error_message(body: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
}

/// A whole response body as text.
async fn text(response: &web_sys::Response) -> Result<String, String> {
    Ok(
        wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| "no body")?)
            .await
            .map_err(|_| "no body".to_owned())?
            .as_string()
            .unwrap_or_default(),
    )
}

/// A page of hits as the API sends it, as far as the grid needs it.
#[derive(Debug, Clone, Deserialize)]
struct ApiPage {
    hits: Vec<ApiHit>,
    total: usize,
}

#[derive(Debug, Clone, Deserialize)]
struct ApiHit {
    photo: i64,
    score: f32,
}

/// Photos that look like `file` (a photo the person chose or dropped): the API's upload route.
pub(crate) async fn similar_to_file(file: web_sys::File) -> Result<Hits, String> {
    let response = post("/api/v1/similar?limit=60", &file, false).await?;
    let page: ApiPage = serde_json::from_str(&text(&response).await?).map_err(|e| e.to_string())?;
    Ok(Hits {
        total: page.total,
        next: None,
        hits: page
            .hits
            .into_iter()
            .map(|h| Hit {
                photo: h.photo,
                score: h.score,
                alt: format!("photo {}", h.photo),
            })
            .collect(),
    })
}

/// One photo's answer, as the API streams it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Answer {
    pub(crate) photo: i64,
    pub(crate) answer: Option<String>,
    /// Why the photo has no answer.
    pub(crate) error: Option<String>,
}

/// What the answers add up to, as the API sends it last.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Summary {
    pub(crate) answered: usize,
    pub(crate) failed: usize,
    pub(crate) yes: usize,
    pub(crate) no: usize,
    pub(crate) most_common: Option<(String, usize)>,
}

/// Most photos one question goes over (the API's own limit).
pub(crate) const MAX_ASKED: usize = 50;

/// Asks `question` of `photos` through the API's stream: `on_answer` as each photo's answer
/// arrives, and the summary at the end.
pub(crate) async fn ask_over(
    photos: &[i64],
    question: &str,
    mut on_answer: impl FnMut(Answer),
) -> Result<Summary, String> {
    let body = serde_json::json!({
        "question": question,
        "photos": &photos[..photos.len().min(MAX_ASKED)],
    });
    let response = post("/api/v1/ask", &JsValue::from_str(&body.to_string()), true).await?;
    let reader: web_sys::ReadableStreamDefaultReader = response
        .body()
        .ok_or("no body")?
        .get_reader()
        .dyn_into()
        .map_err(|_| "not a stream".to_owned())?;
    let mut pending = Vec::<u8>::new();
    loop {
        let chunk = wasm_bindgen_futures::JsFuture::from(reader.read())
            .await
            .map_err(|_| "the answers stopped".to_owned())?;
        let field = |name: &str| js_sys::Reflect::get(&chunk, &JsValue::from_str(name));
        if field("done").ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            return Err("the answers stopped before their summary".to_owned());
        }
        let bytes: js_sys::Uint8Array = field("value")
            .ok()
            .and_then(|v| v.dyn_into().ok())
            .ok_or("not bytes")?;
        pending.extend(bytes.to_vec());
        while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = pending.drain(..end + 2).collect();
            match parse_event(&String::from_utf8_lossy(&event)) {
                Some(("answer", data)) => {
                    on_answer(serde_json::from_str(data).map_err(|e| e.to_string())?)
                }
                Some(("summary", data)) => {
                    return serde_json::from_str(data).map_err(|e| e.to_string());
                }
                Some(("error", data)) => {
                    return Err(error_message(data).unwrap_or_else(|| data.to_owned()));
                }
                _ => {}
            }
        }
    }
}

/// A server-sent event's name and data (one `data:` line: the API sends JSON on one line).
fn parse_event(event: &str) -> Option<(&str, &str)> {
    let mut name = "message";
    let mut data = None;
    for line in event.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = value.trim();
        } else if let Some(value) = line.strip_prefix("data:") {
            data = Some(value.trim_start());
        }
    }
    Some((name, data?))
}

/// Queues Stable Diffusion variations of `photo` under `prompt`; the request's id.
pub(crate) async fn vary(photo: i64, prompt: &str) -> Result<u64, String> {
    let body = serde_json::json!({ "prompt": prompt });
    let url = format!("/api/v1/photos/{photo}/vary");
    let response = post(&url, &JsValue::from_str(&body.to_string()), true).await?;
    let status: serde_json::Value =
        serde_json::from_str(&text(&response).await?).map_err(|e| e.to_string())?;
    status["id"]
        .as_u64()
        .ok_or_else(|| "the server named no request".to_owned())
}
