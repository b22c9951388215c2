//! Questions: about one photo (the answer), and one question over a result set, streamed as
//! server-sent events — each photo's answer as it comes, then the summary. A client that goes
//! away stops the run before the next photo.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::{Deserialize, Serialize};
use shoebox_core::PhotoId;
use shoebox_engine::{AnswerSummary, ImageToText, PhotoAnswer};
use tokio::sync::mpsc;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ErrorBody, internal};
use crate::extract::JsonBody;
use crate::params::{Shared, photo_id};
use crate::{ApiError, AppState};

/// Longest question, in bytes.
const MAX_QUESTION: usize = 500;
/// Most photos one question goes over.
const MAX_PHOTOS: usize = 50;

/// A question about a photo.
#[derive(Deserialize, ToSchema)]
pub(crate) struct Question {
    /// 1 to 500 bytes.
    question: String,
    /// The answer's language (ISO 639-1; default `en`): the answering model's only.
    #[serde(default = "english")]
    lang: String,
}

fn english() -> String {
    "en".to_owned()
}

impl Question {
    fn check(&self) -> Result<(), ApiError> {
        if self.question.len() > MAX_QUESTION || self.lang.len() > 8 {
            return Err(ApiError::bad_request(format!(
                "a question is at most {MAX_QUESTION} bytes, a language a short code (en, de, …)"
            )));
        }
        Ok(())
    }
}

/// The answering model, or why there is none.
fn answerer(state: &AppState) -> Result<Arc<ImageToText>, ApiError> {
    state.answerer.as_ref().map(Arc::clone).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "answers_unavailable",
            "questions are off until an answering model is installed (shoebox models pull)",
        )
    })
}

/// An answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct Answer {
    answer: String,
}

/// Visual question answering about one photo.
#[utoipa::path(post, path = "/photos/{id}/ask", tag = "photos", params(("id" = i64, Path, description = "The photo's id", minimum = 1)), request_body = Question, responses((status = 200, description = "The answer", body = Answer), (status = 400, description = "Bad input, or a language the model does not answer in", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 404, description = "No such photo", body = ErrorBody), (status = 503, description = "No answering model", body = ErrorBody)))]
pub(crate) async fn ask(
    State(state): Shared,
    _caller: Caller,
    Path(id): Path<String>,
    JsonBody(q): JsonBody<Question>,
) -> Result<Json<Answer>, ApiError> {
    let id = photo_id(&id)?;
    let model = answerer(&state)?;
    q.check()?;
    // The photo's path comes from the store, by id.
    let path = state
        .engine
        .photo_path(id)
        .await?
        .ok_or_else(|| ApiError::not_found("photo"))?;
    let answer = state
        .model_work("ask", move |state| {
            Ok(state
                .engine
                .answer_file(model.as_ref(), &path, &q.question, &q.lang)?)
        })
        .await?;
    Ok(Json(Answer { answer }))
}

/// One question over several photos (a search's hits).
#[derive(Deserialize, ToSchema)]
pub(crate) struct QuestionOver {
    #[serde(flatten)]
    question: Question,
    /// The photos' ids, 1 to 50, asked in this order.
    photos: Vec<i64>,
}

/// One photo's answer in the stream.
#[derive(Serialize, ToSchema)]
pub(crate) struct AnswerEvent {
    photo: PhotoId,
    answer: Option<String>,
    /// Why this photo has no answer.
    error: Option<String>,
}

impl From<&PhotoAnswer> for AnswerEvent {
    fn from(a: &PhotoAnswer) -> Self {
        // The engine's answer carries the file's path; the API names photos by id only.
        Self {
            photo: a.photo,
            answer: a.answer.clone(),
            error: a.error.clone(),
        }
    }
}

/// Sets the flag when dropped: the stream's client went away.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Asks one question of each of the given photos: server-sent events `answer` (an
/// [`AnswerEvent`]) per photo as it is answered, then `summary` (an [`AnswerSummary`]), or
/// `error` (an error body).
#[utoipa::path(post, path = "/ask", tag = "search", request_body = QuestionOver, responses((status = 200, description = "Server-sent events: `answer` per photo, then `summary`", content_type = "text/event-stream"), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "No CSRF token", body = ErrorBody), (status = 503, description = "No answering model", body = ErrorBody)))]
pub(crate) async fn ask_over(
    State(state): Shared,
    _caller: Caller,
    JsonBody(q): JsonBody<QuestionOver>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let model = answerer(&state)?;
    q.question.check()?;
    if !(1..=MAX_PHOTOS).contains(&q.photos.len()) {
        return Err(ApiError::bad_request(format!(
            "ask over 1 to {MAX_PHOTOS} photos"
        )));
    }
    let photos: Vec<PhotoId> = q
        .photos
        .iter()
        .map(|&id| {
            (id > 0)
                .then_some(PhotoId(id))
                .ok_or_else(|| ApiError::bad_request(format!("{id} is not a photo id")))
        })
        .collect::<Result<_, _>>()?;
    // Bad questions and languages fail here, as an error response, not inside the stream.
    state
        .engine
        .check_question(model.as_ref(), &q.question.question, &q.question.lang)?;
    let cancel = Arc::new(AtomicBool::new(false));
    let (events, receiver) = mpsc::unbounded_channel::<Event>();
    let flag = Arc::clone(&cancel);
    let worker = Arc::clone(&state);
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Handle::current();
        let sender = events.clone();
        let mut on_answer = move |a: &PhotoAnswer| {
            let _ = sender.send(json_event("answer", &AnswerEvent::from(a)));
        };
        let question = &q.question;
        let summary = runtime.block_on(worker.engine.ask_photos(
            model.as_ref(),
            &photos,
            &question.question,
            &question.lang,
            &flag,
            &mut on_answer,
        ));
        let last = match summary {
            Ok(summary) => json_event::<AnswerSummary>("summary", &summary),
            Err(e) => json_event("error", &ApiError::from(e).body()),
        };
        let _ = events.send(last);
    });
    let guard = CancelOnDrop(cancel);
    let stream = futures_util::stream::unfold((receiver, guard), |(mut receiver, guard)| async {
        let event = receiver.recv().await?;
        Some((Ok(event), (receiver, guard)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A server-sent event named `name` carrying `body` as JSON.
pub(crate) fn json_event<T: Serialize>(name: &str, body: &T) -> Event {
    match serde_json::to_string(body) {
        Ok(json) => Event::default().event(name).data(json),
        Err(e) => Event::default()
            .event("error")
            .data(internal(&e).to_string()),
    }
}
