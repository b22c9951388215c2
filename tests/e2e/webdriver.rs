//! Just enough of the W3C WebDriver protocol (JSON over HTTP to chromedriver) for the tests.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

/// A headless Chromium session.
pub(crate) struct Browser {
    session: String,
}

impl Browser {
    /// Starts Chromium headless with a fresh profile in `profile`.
    pub(crate) fn start(driver: &str, profile: &Path) -> anyhow::Result<Self> {
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--window-size=1280,900",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                },
                "goog:loggingPrefs": { "browser": "ALL" },
            }}
        });
        let created = post(&format!("{driver}/session"), &capabilities)?;
        let id = created["sessionId"]
            .as_str()
            .context("no session id")?
            .to_owned();
        Ok(Self {
            session: format!("{driver}/session/{id}"),
        })
    }

    fn call(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        post(&format!("{}{path}", self.session), body)
    }

    pub(crate) fn go(&self, url: &str) -> anyhow::Result<()> {
        self.call("/url", &json!({ "url": url }))?;
        Ok(())
    }

    fn find(&self, css: &str) -> anyhow::Result<String> {
        let found = self.call(
            "/element",
            &json!({ "using": "css selector", "value": css }),
        )?;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("no element {css}"))
    }

    /// Polls `ready` (up to 30 s); on time out the error says `what` and shows the page.
    fn poll(
        &self,
        what: &str,
        mut ready: impl FnMut() -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        while !ready()? {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "{what} after 30 s; page: {}",
                self.script("return document.body.innerText;")
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Waits (up to 30 s) for an element matching `css` on a page that listens (hydrated: what
    /// is typed before that is not seen).
    pub(crate) fn wait_for(&self, css: &str) -> anyhow::Result<()> {
        self.poll(&format!("no {css}"), || {
            Ok(self.hydrated()? && self.find(css).is_ok())
        })
    }

    /// Whether an element matches `css` now.
    pub(crate) fn find_now(&self, css: &str) -> bool {
        self.find(css).is_ok()
    }

    /// Whether the page has hydrated (the app marks the body).
    fn hydrated(&self) -> anyhow::Result<bool> {
        Ok(
            self.script("return document.body.hasAttribute('data-hydrated');")?
                == Value::Bool(true),
        )
    }

    /// Waits (up to 30 s) until the element matching `css` shows `text`.
    pub(crate) fn wait_for_text(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let script =
            format!("const e = document.querySelector({css:?}); return e ? e.innerText : '';");
        self.poll(&format!("{css} does not show {text:?}"), || {
            Ok(self
                .script(&script)?
                .as_str()
                .is_some_and(|t| t.contains(text)))
        })
    }

    /// Sets a form field's value as a person would (a `change` event follows).
    pub(crate) fn set_field(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let script = format!(
            "const e = document.querySelector({css:?}); if (!e) return document.body.innerHTML; \
             e.value = {value:?}; e.dispatchEvent(new Event('change', {{ bubbles: true }})); \
             return null;"
        );
        let missing = self.script(&script)?;
        anyhow::ensure!(missing.is_null(), "no {css} in {missing}");
        Ok(())
    }

    /// Sends keys (WebDriver key codes such as `\u{E014}`, ArrowRight) to the element.
    pub(crate) fn keys(&self, css: &str, keys: &str) -> anyhow::Result<()> {
        self.type_into(css, keys)
    }

    pub(crate) fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        self.act(css, "value", &json!({ "text": text }))
    }

    pub(crate) fn click(&self, css: &str) -> anyhow::Result<()> {
        self.act(css, "click", &json!({}))
    }

    /// Does `action` to the element matching `css`, finding it again when the page replaced it
    /// in between (a re-render): any other error fails at once.
    fn act(&self, css: &str, action: &str, body: &Value) -> anyhow::Result<()> {
        let mut failure = None;
        self.poll(&format!("could not {action} {css}"), || {
            let element = self.find(css)?;
            match self.call(&format!("/element/{element}/{action}"), body) {
                Ok(_) => Ok(true),
                Err(e) if e.to_string().contains("stale element") => Ok(false),
                Err(e) => {
                    failure = Some(e);
                    Ok(true)
                }
            }
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// Runs `body` as a function in the page; its return value.
    pub(crate) fn script(&self, body: &str) -> anyhow::Result<Value> {
        self.call("/execute/sync", &json!({ "script": body, "args": [] }))
    }

    pub(crate) fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let shot = get(&format!("{}/screenshot", self.session))?;
        let png = base64(shot.as_str().context("no screenshot")?)?;
        fs_err::write(path, png)?;
        Ok(())
    }

    /// Fails when the console logged an error since the last look (`page` names the page).
    pub(crate) fn assert_clean_console(&self, page: &str) -> anyhow::Result<()> {
        let errors = self.console_errors()?;
        anyhow::ensure!(errors.is_empty(), "console errors on {page}: {errors:#?}");
        Ok(())
    }

    /// The console's errors since the last look (SEVERE entries), hydration errors included.
    fn console_errors(&self) -> anyhow::Result<Vec<String>> {
        let log = self.call("/se/log", &json!({ "type": "browser" }))?;
        Ok(log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| {
                e["level"] == "SEVERE"
                    || e["message"].as_str().is_some_and(|m| m.contains("hydrat"))
            })
            .filter_map(|e| e["message"].as_str().map(str::to_owned))
            .collect())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.session).call();
    }
}

fn post(url: &str, body: &Value) -> anyhow::Result<Value> {
    answer(ureq::post(url).send_json(body))
}

fn get(url: &str) -> anyhow::Result<Value> {
    answer(ureq::get(url).call())
}

fn answer(response: Result<ureq::Response, ureq::Error>) -> anyhow::Result<Value> {
    let response = match response {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            anyhow::bail!("webdriver {code}: {}", r.into_string().unwrap_or_default())
        }
        Err(e) => return Err(e.into()),
    };
    let body: Value = response.into_json()?;
    Ok(body["value"].clone())
}

/// Decodes standard base64 (screenshots).
fn base64(text: &str) -> anyhow::Result<Vec<u8>> {
    let value = |c: u8| -> anyhow::Result<u32> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => anyhow::bail!("not base64: {c}"),
        }
        .into())
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().take_while(|&c| c != b'=').collect();
        let mut n = 0u32;
        for &c in &data {
            n = n << 6 | value(c)?;
        }
        n <<= 6 * (4 - data.len() as u32);
        let take = data.len().saturating_sub(1);
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Ok(out)
}
