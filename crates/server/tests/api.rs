//! The API through its router, without a socket: every route unauthenticated, with bad input
//! and on its happy path; first-run setup once; sign-in, its throttle, the session cookie's
//! flags, the anti-forgery token on unsafe methods, sign-out; ids only, never paths.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shoebox_engine::{Engine, Generations, Settings};
use shoebox_server::{AppState, router};
use tower::ServiceExt;

/// A library with the fixture photos scanned (no CLIP model: search is off).
struct Api {
    app: axum::Router,
    engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn new() -> anyhow::Result<Self> {
        Self::with_model(false).await
    }

    /// With `model`, the tiny CLIP checkpoint embeds the photos and searches run.
    async fn with_model(model: bool) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let photos = dir.path().join("photos");
        for name in ["cat.jpg", "rocket.jpg"] {
            shoebox_testkit::put(&photos, name, &shoebox_testkit::fixture(name)?)?;
        }
        // A link inside the root to a photo outside it.
        let outside = shoebox_testkit::put(
            &dir.path().join("outside"),
            "secret.jpg",
            &shoebox_testkit::fixture("coffee.jpg")?,
        )?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, photos.join("zz-link.jpg"))?;
        let mut settings = Settings::default();
        settings.storage.data_dir = dir.path().join("data");
        settings.search.min_similarity = -1.0;
        // Variations as small as the tiny Stable Diffusion makes them quickly.
        settings.vary.size = 64;
        let engine = Engine::open(settings).await?;
        engine.index(&[photos], &()).await?;
        let live = if model {
            let clip_tiny = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/clip-tiny");
            let clip = Arc::new(engine.clip(Some(&clip_tiny))?);
            let mut indices = engine.indices(&clip).await?;
            engine
                .embed_library(&clip, &mut indices, &|_, _| {})
                .await?;
            drop(indices);
            Some(Arc::new(engine.live_search(clip).await?))
        } else {
            None
        };
        let answerer = if model {
            let vqa = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/blip-vqa-tiny");
            Some(Arc::new(engine.answerer(Some(&vqa))?))
        } else {
            None
        };
        let engine = Arc::new(engine);
        let generations = if model {
            let sd_tiny = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/sd-tiny");
            engine.generated_root().await?;
            Some(Arc::new(Generations::start(
                Arc::clone(&engine),
                Some(sd_tiny),
            )?))
        } else {
            None
        };
        let app = router(AppState::new(
            Arc::clone(&engine),
            live,
            answerer,
            generations,
        ));
        Ok(Self {
            app,
            engine,
            _dir: dir,
        })
    }

    async fn send(&self, request: Request<Body>) -> anyhow::Result<Response> {
        Ok(self.app.clone().oneshot(request).await?)
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
        session: Option<&Session>,
    ) -> anyhow::Result<(StatusCode, Value, Response<()>)> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(s) = session {
            request = request
                .header(header::COOKIE, &s.cookie)
                .header("x-csrf-token", &s.csrf);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))?,
            None => request.body(Body::empty())?,
        };
        let response = self.send(request).await?;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await?.to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((parts.status, value, Response::from_parts(parts, ())))
    }

    async fn setup_and_login(&self) -> anyhow::Result<Session> {
        let (status, _, _) = self
            .call(Method::POST, "/api/v1/setup", Some(admin()), None)
            .await?;
        assert_eq!(status, StatusCode::CREATED);
        self.login().await
    }

    async fn login(&self) -> anyhow::Result<Session> {
        self.login_as(admin()).await
    }

    /// Signs in with `credentials`; the session cookie (checked for its flags) and CSRF token.
    async fn login_as(&self, credentials: Value) -> anyhow::Result<Session> {
        let (status, body, response) = self
            .call(Method::POST, "/api/v1/login", Some(credentials), None)
            .await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("no cookie"))?
            .to_owned();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        Ok(Session {
            cookie: cookie.split(';').next().unwrap_or_default().to_owned(),
            csrf: body["csrf"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

struct Session {
    cookie: String,
    csrf: String,
}

fn admin() -> Value {
    json!({ "name": "admin", "password": "a long enough password" })
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

const PROTECTED: [&str; 13] = [
    "/api/v1/me",
    "/api/v1/search?q=cat",
    "/api/v1/photos/1",
    "/api/v1/photos/1/thumbnail/256",
    "/api/v1/photos/1/original",
    "/api/v1/photos/1/similar",
    "/api/v1/status",
    "/api/v1/status/stream",
    "/api/v1/tags",
    "/api/v1/albums",
    "/api/v1/albums/x",
    "/api/v1/tokens",
    "/api/v1/roots",
];

#[tokio::test]
async fn health_is_open_and_everything_else_wants_a_session() -> anyhow::Result<()> {
    let api = Api::new().await?;
    for open in ["/healthz", "/readyz"] {
        let (status, _, response) = api.call(Method::GET, open, None, None).await?;
        assert_eq!(status, StatusCode::OK, "{open}");
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["content-security-policy"]
                .to_str()?
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    for uri in PROTECTED {
        let (status, body, _) = api.call(Method::GET, uri, None, None).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(code(&body), "unauthenticated");
    }
    let forged = Session {
        cookie: "shoebox_session=00ff".to_owned(),
        csrf: String::new(),
    };
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/me", None, Some(&forged))
        .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an unknown token");
    Ok(())
}

#[tokio::test]
async fn setup_runs_once_and_checks_its_input() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let short = json!({ "name": "admin", "password": "short" });
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/setup", Some(short), None)
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let (status, body, _) = api
        .call(
            Method::POST,
            "/api/v1/setup",
            Some(json!({ "name": 1 })),
            None,
        )
        .await?;
    assert!(status.is_client_error(), "malformed body: {status}");
    assert_eq!(
        code(&body),
        "bad_request",
        "in the API's error shape: {body}"
    );
    let huge = json!({ "name": "admin", "password": "x".repeat(100_000) });
    let (status, _, _) = api
        .call(Method::POST, "/api/v1/setup", Some(huge), None)
        .await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "the body limit");
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/setup", Some(admin()), None)
        .await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (body["name"].as_str(), body["role"].as_str()),
        (Some("admin"), Some("admin"))
    );
    let again = json!({ "name": "intruder", "password": "another long password" });
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/setup", Some(again), None)
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_set_up")
    );
    Ok(())
}

#[tokio::test]
async fn sign_in_is_throttled_and_sign_out_needs_the_csrf_token() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let session = api.setup_and_login().await?;
    let (status, body, _) = api
        .call(Method::GET, "/api/v1/me", None, Some(&session))
        .await?;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("admin"))
    );

    // A cross-site POST carries the cookie but not the token.
    let no_token = Session {
        cookie: session.cookie.clone(),
        csrf: "guess".to_owned(),
    };
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/logout", None, Some(&no_token))
        .await?;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "csrf"));
    let (status, _, _) = api
        .call(Method::POST, "/api/v1/logout", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/me", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session ended");

    // Brute force: five wrong passwords, then even the right one waits.
    let wrong = json!({ "name": "admin", "password": "not the password at all" });
    for _ in 0..5 {
        let (status, body, _) = api
            .call(Method::POST, "/api/v1/login", Some(wrong.clone()), None)
            .await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "bad_credentials")
        );
    }
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/login", Some(admin()), None)
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "throttled")
    );
    Ok(())
}

#[tokio::test]
async fn photos_by_id_only_with_cached_thumbnails() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let session = api.setup_and_login().await?;
    let (status, body, _) = api
        .call(Method::GET, "/api/v1/photos/1", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["rel_path"]
            .as_str()
            .is_some_and(|p| p.ends_with(".jpg")),
        "{body}"
    );
    let (status, body, _) = api
        .call(Method::GET, "/api/v1/photos/999", None, Some(&session))
        .await?;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    for traversal in [
        "/api/v1/photos/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/photos/%2Fetc%2Fpasswd/thumbnail/256",
        "/api/v1/photos/-1",
    ] {
        let (status, body, _) = api
            .call(Method::GET, traversal, None, Some(&session))
            .await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{traversal}"
        );
    }
    let (status, _, _) = api
        .call(
            Method::GET,
            "/api/v1/photos/1/thumbnail/999",
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "only configured sizes");

    let (status, _, response) = api
        .call(
            Method::GET,
            "/api/v1/photos/1/thumbnail/256",
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/jpeg");
    let etag = response.headers()[header::ETAG].clone();
    let request = Request::get("/api/v1/photos/1/thumbnail/256")
        .header(header::COOKIE, &session.cookie)
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())?;
    assert_eq!(api.send(request).await?.status(), StatusCode::NOT_MODIFIED);
    Ok(())
}

#[tokio::test]
async fn search_says_it_is_off_without_a_model_and_status_reports_progress() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let session = api.setup_and_login().await?;
    let (status, body, _) = api
        .call(Method::GET, "/api/v1/search?q=cat", None, Some(&session))
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "search_unavailable")
    );
    let (status, body, _) = api
        .call(Method::GET, "/api/v1/status", None, Some(&session))
        .await?;
    // Two photos and, on Unix, the link to one outside the root.
    let photos = if cfg!(unix) { 3 } else { 2 };
    assert_eq!(
        (status, body["photos"].as_u64()),
        (StatusCode::OK, Some(photos))
    );
    Ok(())
}

#[tokio::test]
async fn search_finds_photos_by_words_and_meaning_and_checks_its_limits() -> anyhow::Result<()> {
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let (status, body, _) = api
        .call(
            Method::GET,
            "/api/v1/search?q=rocket&limit=1",
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hits"].as_array().map(Vec::len), Some(1));
    let (_, photo, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/photos/{}", body["hits"][0]["photo"]),
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(photo["rel_path"], "rocket.jpg", "the file name's word wins");
    for bad in [
        "/api/v1/search?q=cat&limit=0",
        "/api/v1/search?q=cat&limit=100000",
        "/api/v1/search?q=cat&sort=size",
    ] {
        let (status, body, _) = api.call(Method::GET, bad, None, Some(&session)).await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{bad}"
        );
    }
    Ok(())
}

/// The id of the photo at `rel_path`.
async fn id_of(api: &Api, session: &Session, rel_path: &str) -> anyhow::Result<u64> {
    for id in 1..=10 {
        let (_, body, _) = api
            .call(
                Method::GET,
                &format!("/api/v1/photos/{id}"),
                None,
                Some(session),
            )
            .await?;
        if body["rel_path"] == rel_path {
            return Ok(id);
        }
    }
    anyhow::bail!("no photo {rel_path}")
}

#[tokio::test]
async fn originals_come_whole_or_by_range_and_never_from_outside_a_root() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let session = api.setup_and_login().await?;
    let rocket = shoebox_testkit::fixture("rocket.jpg")?;
    let uri = format!(
        "/api/v1/photos/{}/original",
        id_of(&api, &session, "rocket.jpg").await?
    );
    let get = |range: Option<&str>| {
        let mut request = Request::get(uri.as_str()).header(header::COOKIE, &session.cookie);
        if let Some(range) = range {
            request = request.header(header::RANGE, range);
        }
        request.body(Body::empty())
    };
    let whole = api.send(get(None)?).await?;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(whole.headers()[header::ACCEPT_RANGES], "bytes");
    assert_eq!(
        whole.into_body().collect().await?.to_bytes(),
        rocket.as_slice()
    );

    let part = api.send(get(Some("bytes=100-199"))?).await?;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE],
        format!("bytes 100-199/{}", rocket.len()).as_str()
    );
    assert_eq!(
        part.into_body().collect().await?.to_bytes(),
        &rocket[100..200]
    );
    let beyond = api
        .send(get(Some(&format!("bytes={}-", rocket.len())))?)
        .await?;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    #[cfg(unix)]
    {
        let link = id_of(&api, &session, "zz-link.jpg").await?;
        let (status, body, _) = api
            .call(
                Method::GET,
                &format!("/api/v1/photos/{link}/original"),
                None,
                Some(&session),
            )
            .await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "outside_root")
        );
    }
    Ok(())
}

#[tokio::test]
async fn api_tokens_serve_scripts_and_members_are_not_admins() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let admin = api.setup_and_login().await?;
    let (status, made, _) = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "backup script" })),
            Some(&admin),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap_or_default().to_owned();
    let bearer = |uri: &str, method: Method, token: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
    };
    // A script: no cookie, no CSRF token, even on an unsafe method.
    let me = api
        .send(bearer("/api/v1/me", Method::GET, &secret)?)
        .await?;
    assert_eq!(me.status(), StatusCode::OK);
    let wrong = api.send(bearer("/api/v1/me", Method::GET, "0123")?).await?;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (status, listed, _) = api
        .call(Method::GET, "/api/v1/tokens", None, Some(&admin))
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed[0]["name"], "backup script");
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );

    // The admin adds a member; a member may not add users or see the roots.
    let member = json!({ "name": "kid", "password": "another long password", "role": "member" });
    let (status, _, _) = api
        .call(
            Method::POST,
            "/api/v1/users",
            Some(member.clone()),
            Some(&admin),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/users", Some(member), Some(&admin))
        .await?;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let kid = api
        .login_as(json!({ "name": "kid", "password": "another long password" }))
        .await?;
    let (status, body, _) = api
        .call(Method::GET, "/api/v1/roots", None, Some(&kid))
        .await?;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let intruder = json!({ "name": "x", "password": "yet another long one", "role": "admin" });
    let (status, _, _) = api
        .call(Method::POST, "/api/v1/users", Some(intruder), Some(&kid))
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, roots, _) = api
        .call(Method::GET, "/api/v1/roots", None, Some(&admin))
        .await?;
    assert_eq!(
        (status, roots.as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    // Dead jobs are queued again by an admin only.
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/jobs/retry", None, Some(&kid))
        .await?;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/jobs/retry", None, Some(&admin))
        .await?;
    assert_eq!((status, body["queued"].as_u64()), (StatusCode::OK, Some(0)));

    // Revoked, the token lets nobody in.
    let id = made["id"].as_i64().unwrap_or_default();
    let (status, _, _) = api
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
            Some(&admin),
        )
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let me = api
        .send(bearer("/api/v1/me", Method::GET, &secret)?)
        .await?;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn albums_tags_similar_and_the_progress_stream() -> anyhow::Result<()> {
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let album = json!({ "name": "Space", "prompts": ["a rocket launch"], "threshold": -1.0 });
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/albums", Some(album), Some(&session))
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bad = json!({ "name": "Empty", "prompts": [], "threshold": 0.2 });
    let (status, _, _) = api
        .call(Method::POST, "/api/v1/albums", Some(bad), Some(&session))
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, listed, _) = api
        .call(Method::GET, "/api/v1/albums", None, Some(&session))
        .await?;
    assert_eq!(
        (status, listed[0]["name"].as_str()),
        (StatusCode::OK, Some("Space"))
    );
    let (status, one, _) = api
        .call(Method::GET, "/api/v1/albums/Space", None, Some(&session))
        .await?;
    assert_eq!(
        (status, one["album"]["prompts"][0].as_str()),
        (StatusCode::OK, Some("a rocket launch"))
    );
    let (status, _, _) = api
        .call(Method::DELETE, "/api/v1/albums/Space", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/albums/Space", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, tags, _) = api
        .call(Method::GET, "/api/v1/tags", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(tags.is_array(), "{tags}");

    let rocket = id_of(&api, &session, "rocket.jpg").await?;
    let (status, page, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/photos/{rocket}/similar"),
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    let hits: Vec<u64> = page["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["photo"].as_u64())
        .collect();
    assert!(
        !hits.is_empty() && !hits.contains(&rocket),
        "the others, not itself: {hits:?}"
    );

    let request = Request::get("/api/v1/status/stream")
        .header(header::COOKIE, &session.cookie)
        .body(Body::empty())?;
    let response = api.send(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();
    let frame = body
        .frame()
        .await
        .ok_or_else(|| anyhow::anyhow!("no event"))??;
    let text = String::from_utf8(
        frame
            .into_data()
            .map_err(|_| anyhow::anyhow!("not data"))?
            .to_vec(),
    )?;
    assert!(text.starts_with("event: progress\ndata: {"), "{text}");
    assert!(text.contains("\"stages\""), "{text}");
    Ok(())
}

#[tokio::test]
async fn metrics_count_requests_by_declared_route_for_admins_only() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let (status, _, _) = api.call(Method::GET, "/metrics", None, None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let admin = api.setup_and_login().await?;
    for id in [1, 2, 999] {
        api.call(
            Method::GET,
            &format!("/api/v1/photos/{id}"),
            None,
            Some(&admin),
        )
        .await?;
    }
    let request = Request::get("/metrics")
        .header(header::COOKIE, &admin.cookie)
        .body(Body::empty())?;
    let response = api.send(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(response.into_body().collect().await?.to_bytes().to_vec())?;
    let count = |status: &str| {
        format!(
            "shoebox_http_request_duration_seconds_count{{method=\"GET\",route=\"/api/v1/photos/{{id}}\",status=\"{status}\"}}"
        )
    };
    assert!(text.contains(&format!("{} 2", count("200"))), "{text}");
    assert!(text.contains(&format!("{} 1", count("404"))), "{text}");
    assert!(
        !text.contains("/api/v1/photos/999"),
        "routes, never raw paths"
    );
    assert!(text.contains("shoebox_photos{status=\"ok\"}"), "{text}");
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_answers() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let session = api.setup_and_login().await?;
    let (status, doc, _) = api
        .call(Method::GET, "/api/v1/openapi.json", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    let paths = doc["paths"]
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("no paths"))?;
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().into_iter().flat_map(|o| o.keys()) {
            operations.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations.sort();
    let mut expected: Vec<String> = [
        "POST /api/v1/setup",
        "POST /api/v1/login",
        "POST /api/v1/logout",
        "GET /api/v1/me",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "DELETE /api/v1/users/{id}/sessions",
        "GET /api/v1/sessions",
        "DELETE /api/v1/sessions/{id}",
        "GET /api/v1/models",
        "POST /api/v1/ask",
        "PUT /api/v1/albums/{name}",
        "GET /api/v1/tokens",
        "POST /api/v1/tokens",
        "DELETE /api/v1/tokens/{id}",
        "GET /api/v1/roots",
        "GET /api/v1/search",
        "GET /api/v1/photos/{id}",
        "GET /api/v1/photos/{id}/thumbnail/{size}",
        "GET /api/v1/photos/{id}/original",
        "GET /api/v1/photos/{id}/similar",
        "GET /api/v1/status",
        "GET /api/v1/status/stream",
        "POST /api/v1/jobs/retry",
        "GET /api/v1/tags",
        "GET /api/v1/photos/{id}/tags",
        "POST /api/v1/photos/{id}/classify",
        "POST /api/v1/photos/{id}/ask",
        "POST /api/v1/similar",
        "PUT /api/v1/photos/{id}/tags/{tag}",
        "DELETE /api/v1/photos/{id}/tags/{tag}",
        "GET /api/v1/albums",
        "POST /api/v1/albums",
        "GET /api/v1/albums/{name}",
        "DELETE /api/v1/albums/{name}",
        "POST /api/v1/photos/{id}/vary",
        "GET /api/v1/photos/{id}/variations",
        "GET /api/v1/vary/{job}",
        "DELETE /api/v1/vary/{job}",
        "GET /api/v1/vary/{job}/stream",
    ]
    .map(str::to_owned)
    .to_vec();
    expected.sort();
    assert_eq!(operations, expected);
    // Each documented operation is routed (whatever it answers, it is not 404 / 405 for
    // want of a route; ids that do not exist answer not_found in the API's error shape), and
    // each but setup and login wants a caller.
    for op in &operations {
        let (method, path) = op.split_once(' ').unwrap_or_default();
        let uri = path
            .replace("{id}", "1")
            .replace("{size}", "256")
            .replace("{name}", "none")
            .replace("{tag}", "beach")
            .replace("{job}", "1");
        let method: Method = method.parse()?;
        let body = matches!(method, Method::POST | Method::PUT).then(|| json!({}));
        if !path.ends_with("/setup") && !path.ends_with("/login") {
            let (status, answer, _) = api.call(method.clone(), &uri, body.clone(), None).await?;
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::UNAUTHORIZED, "unauthenticated"),
                "{op} without a session"
            );
        }
        if path.ends_with("/logout") || path.ends_with("/stream") || path.ends_with("}/sessions") {
            // Tested on their own: they end sessions (the admin's, here), or never end.
            continue;
        }
        let (status, body, _) = api.call(method, &uri, body, Some(&session)).await?;
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED
                && (status != StatusCode::NOT_FOUND || code(&body) == "not_found"),
            "{op}: {status} {body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn people_tag_photos_and_the_tags_list_counts_them() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let session = api.setup_and_login().await?;
    for id in [1, 2] {
        let (status, _, _) = api
            .call(
                Method::PUT,
                &format!("/api/v1/photos/{id}/tags/holiday%202024"),
                None,
                Some(&session),
            )
            .await?;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, _, _) = api
        .call(
            Method::PUT,
            "/api/v1/photos/1/tags/holiday%202024",
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT, "tagging twice is one tag");
    let (_, tags, _) = api
        .call(Method::GET, "/api/v1/photos/1/tags", None, Some(&session))
        .await?;
    assert_eq!(
        tags,
        json!([{ "tag": "holiday 2024", "source": "user", "score": null }])
    );
    let (_, all, _) = api
        .call(Method::GET, "/api/v1/tags", None, Some(&session))
        .await?;
    assert_eq!(all, json!([{ "tag": "holiday 2024", "photos": 2 }]));

    let (status, _, _) = api
        .call(
            Method::PUT,
            "/api/v1/photos/999/tags/x",
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = api
        .call(
            Method::PUT,
            "/api/v1/photos/1/tags/%20%20",
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an empty tag");
    let (status, _, _) = api
        .call(
            Method::DELETE,
            "/api/v1/photos/1/tags/holiday%202024",
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = api
        .call(
            Method::DELETE,
            "/api/v1/photos/1/tags/holiday%202024",
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, all, _) = api
        .call(Method::GET, "/api/v1/tags", None, Some(&session))
        .await?;
    assert_eq!(all, json!([{ "tag": "holiday 2024", "photos": 1 }]));
    Ok(())
}

#[tokio::test]
async fn classify_ranks_the_given_labels_for_a_photo() -> anyhow::Result<()> {
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let rocket = id_of(&api, &session, "rocket.jpg").await?;
    let uri = format!("/api/v1/photos/{rocket}/classify");
    let labels = json!({ "labels": ["rocket", "cat", "coffee"] });
    let (status, ranked, _) = api
        .call(Method::POST, &uri, Some(labels), Some(&session))
        .await?;
    assert_eq!(status, StatusCode::OK, "{ranked}");
    let ranked = ranked.as_array().cloned().unwrap_or_default();
    assert_eq!(ranked.len(), 3);
    let total: f64 = ranked
        .iter()
        .filter_map(|p| p["probability"].as_f64())
        .sum();
    assert!(
        (total - 1.0).abs() < 1e-4,
        "probabilities sum to 1: {total}"
    );
    let ranks: Vec<u64> = ranked.iter().filter_map(|p| p["rank"].as_u64()).collect();
    assert_eq!(ranks, [1, 2, 3]);
    for bad in [
        json!({ "labels": ["one"] }),
        json!({ "labels": ["a", ""] }),
        json!({ "labels": 5 }),
    ] {
        let (status, body, _) = api
            .call(Method::POST, &uri, Some(bad), Some(&session))
            .await?;
        assert!(status.is_client_error(), "{status}");
        assert_eq!(code(&body), "bad_request");
    }
    let (status, _, _) = api
        .call(
            Method::POST,
            "/api/v1/photos/999/classify",
            Some(json!({ "labels": ["a", "b"] })),
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn an_uploaded_image_finds_its_look_alikes_within_the_limits() -> anyhow::Result<()> {
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let upload = |bytes: Vec<u8>| {
        Request::post("/api/v1/similar?limit=3")
            .header(header::COOKIE, &session.cookie)
            .header("x-csrf-token", &session.csrf)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(bytes))
    };
    let response = api
        .send(upload(shoebox_testkit::fixture("rocket.jpg")?)?)
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
    let first = page["hits"][0]["photo"].as_u64().unwrap_or_default();
    assert_eq!(
        first,
        id_of(&api, &session, "rocket.jpg").await?,
        "the same picture first"
    );

    let response = api.send(upload(b"not an image at all".to_vec())?).await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = api.send(upload(vec![0u8; 21 * 1024 * 1024])?).await?;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A decompression bomb: a few bytes whose header claims 60 megapixels.
    let response = api.send(upload(png_header(10_000, 6_000))?).await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("60000000 pixels")),
        "{body}"
    );
    Ok(())
}

/// A PNG whose header says `width` × `height` and whose image data is an empty stream: a few
/// bytes that would decode into a huge buffer.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut header = width.to_be_bytes().to_vec();
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    // zlib: header, one empty final stored block, Adler-32 of nothing.
    let data = [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, body) in [
        (b"IHDR", &header[..]),
        (b"IDAT", &data[..]),
        (b"IEND", &[][..]),
    ] {
        let mut chunk = kind.to_vec();
        chunk.extend(body);
        png.extend(u32::try_from(body.len()).unwrap_or(0).to_be_bytes());
        png.extend(&chunk);
        png.extend(crc32(&chunk).to_be_bytes());
    }
    png
}

/// PNG's CRC-32 (ISO-HDLC).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_question_about_a_photo_gets_an_answer_in_the_model_s_languages() -> anyhow::Result<()> {
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let rocket = id_of(&api, &session, "rocket.jpg").await?;
    let uri = format!("/api/v1/photos/{rocket}/ask");
    let (status, body, _) = api
        .call(
            Method::POST,
            &uri,
            Some(json!({ "question": "what is this?" })),
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["answer"].is_string(), "{body}");
    for bad in [
        json!({ "question": "  " }),
        json!({ "question": "what?", "lang": "de" }),
        json!({ "question": "x".repeat(501) }),
    ] {
        let (status, body, _) = api
            .call(Method::POST, &uri, Some(bad), Some(&session))
            .await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{body}"
        );
    }
    let (status, _, _) = api
        .call(
            Method::POST,
            "/api/v1/photos/999/ask",
            Some(json!({ "question": "why?" })),
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let plain = Api::new().await?;
    let session = plain.setup_and_login().await?;
    let (status, body, _) = plain
        .call(
            Method::POST,
            "/api/v1/photos/1/ask",
            Some(json!({ "question": "why?" })),
            Some(&session),
        )
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "answers_unavailable")
    );
    Ok(())
}

/// The photo ids of a page of hits.
fn hit_ids(page: &Value) -> Vec<u64> {
    page["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["photo"].as_u64())
        .collect()
}

#[tokio::test]
async fn searches_take_their_filters_from_the_query_string() -> anyhow::Result<()> {
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let get = |uri: String| {
        let api = &api;
        let session = &session;
        async move { api.call(Method::GET, &uri, None, Some(session)).await }
    };
    let (status, all, _) = get("/api/v1/search?q=rocket&limit=10".into()).await?;
    assert_eq!(status, StatusCode::OK, "{all}");
    let n = hit_ids(&all).len();
    assert!(n >= 2, "{all}");
    // The root the photos are in, another root, a future date, a camera no photo has.
    for (filter, hits) in [
        ("root=1", n),
        ("root=1&folder=elsewhere", 0),
        ("root=99", 0),
        ("since=2999-01-01", 0),
        ("camera=hasselblad", 0),
        ("tags=holiday", 0),
    ] {
        let (status, page, _) = get(format!("/api/v1/search?q=rocket&{filter}")).await?;
        assert_eq!(status, StatusCode::OK, "{filter}: {page}");
        assert_eq!(hit_ids(&page).len(), hits, "{filter}: {page}");
    }
    let (_, explained, _) = get("/api/v1/search?q=rocket&explain=true".into()).await?;
    assert!(explained["hits"][0]["explain"].is_object(), "{explained}");
    let (_, by_date, _) = get("/api/v1/search?q=rocket&sort=date".into()).await?;
    assert_eq!(hit_ids(&by_date).len(), n, "{by_date}");
    // The same filters narrow look-alikes.
    let rocket = id_of(&api, &session, "rocket.jpg").await?;
    let (_, similar, _) = get(format!("/api/v1/photos/{rocket}/similar?root=99")).await?;
    assert_eq!(hit_ids(&similar), Vec::<u64>::new(), "{similar}");
    for bad in [
        "since=yesterday",
        "until=2024-13-01",
        "folder=trips",
        "tags=a,,b",
        "sort=random",
        "explain=perhaps",
        "limit=-1",
        "root=x",
    ] {
        let (status, body, _) = get(format!("/api/v1/search?q=rocket&{bad}")).await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{bad}: {body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_their_owner_or_an_admin() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let first = api.setup_and_login().await?;
    let second = api.login().await?;
    let (status, listed, _) = api
        .call(Method::GET, "/api/v1/sessions", None, Some(&first))
        .await?;
    assert_eq!(status, StatusCode::OK);
    let sessions = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2, "{listed}");
    let current: Vec<bool> = sessions
        .iter()
        .filter_map(|s| s["current"].as_bool())
        .collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1, "{listed}");
    // The first session ends the second.
    let other = sessions
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let uri = format!("/api/v1/sessions/{other}");
    let (status, _, _) = api.call(Method::DELETE, &uri, None, Some(&first)).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/me", None, Some(&second))
        .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the ended session is out");
    let (status, _, _) = api.call(Method::DELETE, &uri, None, Some(&first)).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "ended once");
    for bad in ["1", "..%2F..", &"z".repeat(64)] {
        let (status, _, _) = api
            .call(
                Method::DELETE,
                &format!("/api/v1/sessions/{bad}"),
                None,
                Some(&first),
            )
            .await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // An admin signs a member out everywhere; the member may not do it to anyone.
    let member = json!({ "name": "sam", "password": "another long password", "role": "member" });
    let (status, sam, _) = api
        .call(Method::POST, "/api/v1/users", Some(member), Some(&first))
        .await?;
    assert_eq!(status, StatusCode::CREATED);
    let (status, users, _) = api
        .call(Method::GET, "/api/v1/users", None, Some(&first))
        .await?;
    assert_eq!(
        (status, users.as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    let sam_session = api
        .login_as(json!({ "name": "sam", "password": "another long password" }))
        .await?;
    let everywhere = format!("/api/v1/users/{}/sessions", sam["id"]);
    let (status, _, _) = api
        .call(
            Method::DELETE,
            "/api/v1/users/1/sessions",
            None,
            Some(&sam_session),
        )
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "a member is not an admin");
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/users", None, Some(&sam_session))
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ended, _) = api
        .call(Method::DELETE, &everywhere, None, Some(&first))
        .await?;
    assert_eq!(
        (status, ended["sessions"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/me", None, Some(&sam_session))
        .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/me", None, Some(&first))
        .await?;
    assert_eq!(status, StatusCode::OK, "the admin's own session stays");
    Ok(())
}

#[tokio::test]
async fn albums_are_made_once_and_redefined_in_place() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let session = api.setup_and_login().await?;
    let album = json!({ "name": "Space", "prompts": ["a rocket"], "threshold": 0.2 });
    let (status, _, _) = api
        .call(
            Method::POST,
            "/api/v1/albums",
            Some(album.clone()),
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body, _) = api
        .call(Method::POST, "/api/v1/albums", Some(album), Some(&session))
        .await?;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "conflict"));
    let redefined = json!({ "prompts": ["a rocket", "a launch pad"], "threshold": 0.3 });
    let (status, body, _) = api
        .call(
            Method::PUT,
            "/api/v1/albums/Space",
            Some(redefined.clone()),
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, one, _) = api
        .call(Method::GET, "/api/v1/albums/Space", None, Some(&session))
        .await?;
    assert_eq!(one["album"]["prompts"], json!(["a rocket", "a launch pad"]));
    assert!((one["album"]["threshold"].as_f64().unwrap_or_default() - 0.3).abs() < 1e-6);
    let (status, _, _) = api
        .call(
            Method::PUT,
            "/api/v1/albums/Nope",
            Some(redefined),
            Some(&session),
        )
        .await?;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "PUT redefines, it does not make"
    );
    let (status, _, _) = api
        .call(
            Method::PUT,
            "/api/v1/albums/Space",
            Some(json!({ "prompts": [], "threshold": 0.3 })),
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn models_say_what_is_installed_and_what_serves() -> anyhow::Result<()> {
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let (status, models, _) = api
        .call(Method::GET, "/api/v1/models", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::OK, "{models}");
    assert!(
        models["searching_with"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{models}"
    );
    assert_eq!(models["answering"], true);
    let catalog = models["catalog"].as_array().cloned().unwrap_or_default();
    assert!(!catalog.is_empty(), "{models}");
    assert!(
        catalog.iter().all(|m| m["installed"] == false),
        "nothing is pulled into this data directory: {models}"
    );
    let plain = Api::new().await?;
    let session = plain.setup_and_login().await?;
    let (_, models, _) = plain
        .call(Method::GET, "/api/v1/models", None, Some(&session))
        .await?;
    assert_eq!(
        (&models["searching_with"], &models["answering"]),
        (&Value::Null, &json!(false))
    );
    Ok(())
}

/// The events of a server-sent event stream, read to its end: (name, JSON data).
async fn events(response: Response) -> anyhow::Result<Vec<(String, Value)>> {
    let bytes = response.into_body().collect().await?.to_bytes();
    let text = String::from_utf8(bytes.to_vec())?;
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_default()
                .to_owned()
        };
        events.push((field("event: "), serde_json::from_str(&field("data: "))?));
    }
    Ok(events)
}

#[tokio::test]
async fn a_question_over_results_streams_each_answer_then_the_summary() -> anyhow::Result<()> {
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let (cat, rocket) = (
        id_of(&api, &session, "cat.jpg").await?,
        id_of(&api, &session, "rocket.jpg").await?,
    );
    let body = json!({ "question": "what is this?", "photos": [rocket, 999, cat] });
    let request = Request::post("/api/v1/ask")
        .header(header::COOKIE, &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))?;
    let response = api.send(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let events = events(response).await?;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["answer", "answer", "answer", "summary"],
        "{events:?}"
    );
    let photos: Vec<u64> = events[..3]
        .iter()
        .filter_map(|(_, e)| e["photo"].as_u64())
        .collect();
    assert_eq!(photos, [rocket, 999, cat], "in the order asked");
    assert!(events[0].1["answer"].is_string() && events[2].1["answer"].is_string());
    assert!(
        events[1].1["error"].is_string(),
        "999 is no photo: {:?}",
        events[1]
    );
    assert!(
        events.iter().all(|(_, e)| e.get("path").is_none()),
        "no server paths in answers"
    );
    let summary = &events[3].1;
    assert_eq!(
        (summary["answered"].as_u64(), summary["failed"].as_u64()),
        (Some(2), Some(1))
    );

    for bad in [
        json!({ "question": "why?", "photos": [] }),
        json!({ "question": "why?", "photos": [0] }),
        json!({ "question": "why?", "photos": vec![1; 51] }),
        json!({ "question": " ", "photos": [1] }),
        json!({ "question": "why?", "lang": "de", "photos": [1] }),
    ] {
        let (status, body, _) = api
            .call(
                Method::POST,
                "/api/v1/ask",
                Some(bad.clone()),
                Some(&session),
            )
            .await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let plain = Api::new().await?;
    let session = plain.setup_and_login().await?;
    let (status, body, _) = plain
        .call(
            Method::POST,
            "/api/v1/ask",
            Some(json!({ "question": "why?", "photos": [1] })),
            Some(&session),
        )
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "answers_unavailable")
    );
    Ok(())
}

#[tokio::test]
async fn variations_are_queued_streamed_and_recorded_as_photos_of_their_own() -> anyhow::Result<()>
{
    let api = Api::with_model(true).await?;
    let session = api.setup_and_login().await?;
    let cat = id_of(&api, &session, "cat.jpg").await?;
    let vary = format!("/api/v1/photos/{cat}/vary");
    let asked = json!({ "prompt": "a cat in the snow", "seed": 7, "count": 2 });
    let (status, queued, _) = api
        .call(Method::POST, &vary, Some(asked), Some(&session))
        .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(
        (queued["seed"].as_u64(), queued["count"].as_u64()),
        (Some(7), Some(2))
    );
    let job = queued["id"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no id: {queued}"))?;

    // The stream follows it step by step and ends with it.
    let request = Request::get(format!("/api/v1/vary/{job}/stream"))
        .header(header::COOKIE, &session.cookie)
        .body(Body::empty())?;
    let response = api.send(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let events = events(response).await?;
    assert!(
        events
            .iter()
            .any(|(_, e)| e["state"] == "running" && e["step"].as_u64() >= Some(1)),
        "no step reported: {events:?}"
    );
    let (name, last) = events.last().ok_or_else(|| anyhow::anyhow!("no events"))?;
    assert_eq!(
        (name.as_str(), &last["state"]),
        ("status", &json!("done")),
        "{events:?}"
    );
    let seeds: Vec<u64> = last["made"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["seed"].as_u64())
        .collect();
    assert_eq!(seeds, [7, 8]);
    let (status, now, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/vary/{job}"),
            None,
            Some(&session),
        )
        .await?;
    assert_eq!((status, &now["state"]), (StatusCode::OK, &json!("done")));
    // A finished request cannot be cancelled.
    let (status, _, _) = api
        .call(
            Method::DELETE,
            &format!("/api/v1/vary/{job}"),
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Recorded with what made them; once the scan has read them, photos of their own.
    let variations = format!("/api/v1/photos/{cat}/variations");
    let (_, recorded, _) = api
        .call(Method::GET, &variations, None, Some(&session))
        .await?;
    let recorded = recorded.as_array().cloned().unwrap_or_default();
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(recorded[0]["prompt"], "a cat in the snow");
    assert_eq!(recorded[0]["model"], "sd-tiny");
    assert_eq!(recorded[1]["seed"], 8);
    assert!(recorded[0]["photo"].is_null(), "not scanned yet");
    api.engine.index(&[], &()).await?;
    let (_, recorded, _) = api
        .call(Method::GET, &variations, None, Some(&session))
        .await?;
    let photo = recorded[0]["photo"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("not a photo after the scan: {recorded}"))?;
    let (status, _, response) = api
        .call(
            Method::GET,
            &format!("/api/v1/photos/{photo}/original"),
            None,
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"image/png"[..])
    );

    // Bad requests and limits answer 400 before anything is queued; no photo, 404.
    for bad in [
        json!({ "steps": 0 }),
        json!({ "steps": 51 }),
        json!({ "count": 5 }),
        json!({ "width": 100, "height": 64 }),
        json!({ "width": 64 }),
        json!({ "width": 1024, "height": 1024 }),
        json!({ "strength": 2.0 }),
        json!({ "strength": 0.1 }),
        json!({ "prompt": "two\nlines" }),
        json!({ "colour": "red" }),
    ] {
        let (status, body, _) = api
            .call(Method::POST, &vary, Some(bad.clone()), Some(&session))
            .await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _, _) = api
        .call(
            Method::POST,
            "/api/v1/photos/999/vary",
            Some(json!({})),
            Some(&session),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = api
        .call(Method::GET, "/api/v1/vary/999", None, Some(&session))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Without a Stable Diffusion model, variations are off.
    let plain = Api::new().await?;
    let session = plain.setup_and_login().await?;
    let (status, body, _) = plain
        .call(
            Method::POST,
            "/api/v1/photos/1/vary",
            Some(json!({})),
            Some(&session),
        )
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "vary_unavailable")
    );
    Ok(())
}
