//! One delivery attempt: a signed POST (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, signed with the
//! `standardwebhooks` crate, the spec's reference implementation), with the connect and total
//! timeouts, no redirects followed, and the SSRF guard on IP literals and resolved addresses.

use std::time::{Duration, Instant};

use reqwest::Client;

use super::Settings;
use super::ssrf;

/// Most bytes of an answer's body read (then the connection is dropped).
const MAX_BODY_READ: usize = 64 * 1024;

/// The outcome of one attempt.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The answer's HTTP status, if one came.
    pub status: Option<u16>,
    /// Why it failed (no answer, or a non-2xx status); `None` on success.
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

impl Attempt {
    /// Whether the endpoint answered 2xx in time.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The HTTP client of the worker: HTTP/1.1 over rustls, `settings`' timeouts, redirects not
/// followed (a 3xx is a failed attempt), host names resolved by [`ssrf::GuardedResolver`].
/// Errors: reqwest's, when the TLS backend cannot start.
pub fn client(settings: &Settings) -> reqwest::Result<Client> {
    Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.response_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(ssrf::GuardedResolver {
            allow_private: settings.allow_private,
        }))
        .user_agent(concat!(
            "contacts-server-webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
}

/// The `webhook-signature` header of `body` sent as message `msg_id` at `timestamp` (Unix
/// seconds) with `secret` (`whsec_…`). Errors: a secret that is not base64.
pub fn signature(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    standardwebhooks::Webhook::new(secret)
        .and_then(|hook| hook.sign(msg_id, timestamp, body.as_bytes()))
        .map_err(|e| e.to_string())
}

/// The text of `err` and its sources (`a: b: c`).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// POSTs `body` to `url` as message `msg_id`, signed with `secret`. Never fails: a refused
/// URL, a transport error, a timeout or a non-2xx answer is an [`Attempt`] with `error`.
pub async fn send(
    client: &Client,
    settings: &Settings,
    url: &str,
    secret: &str,
    msg_id: &str,
    body: String,
) -> Attempt {
    let started = Instant::now();
    let failed = |error: String, status: Option<u16>| Attempt {
        status,
        error: Some(error),
        duration: started.elapsed(),
    };
    let url = match ssrf::check_url(url, settings.allow_private) {
        Ok(url) => url,
        Err(e) => return failed(format!("destination refused: the URL {e}"), None),
    };
    let timestamp = chrono::Utc::now().timestamp();
    let signature = match signature(secret, msg_id, timestamp, &body) {
        Ok(s) => s,
        Err(e) => return failed(format!("signing: {e}"), None),
    };
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return failed(
                format!("timed out after {} ms", started.elapsed().as_millis()),
                None,
            );
        }
        Err(e) => return failed(chain(&e), None),
    };
    let status = response.status().as_u16();
    // Read (a bounded part of) the answer so the connection can be reused.
    let mut read = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                if read > MAX_BODY_READ {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return failed(
                    format!(
                        "timed out after {} ms reading the answer",
                        started.elapsed().as_millis()
                    ),
                    Some(status),
                );
            }
            Err(_) => break,
        }
    }
    if (200..300).contains(&status) {
        Attempt {
            status: Some(status),
            error: None,
            duration: started.elapsed(),
        }
    } else {
        failed(format!("HTTP {status}"), Some(status))
    }
}
