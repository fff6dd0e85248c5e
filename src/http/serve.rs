//! The HTTP/1 accept loop. axum 0.8's `serve` cannot set hyper's header-read timeout, so each
//! connection is served by hyper directly: its request head must arrive within the timeout
//! and fit the header buffer (hyper answers 408 / 431 or closes the connection), so slow or
//! oversized clients cannot hold connections open. hyper runs that timer while a kept-alive
//! connection waits for its next request too, so it is also the idle timeout: every response
//! says so in `Keep-Alive: timeout=<secs>` (as Node's http server does; MDN "Keep-Alive"), and
//! clients that honour it (undici, our abuse suite) stop reusing a connection before the server
//! closes it, instead of racing the close with a new request.
//!
//! A response sent before its request body was read to the end (a 413 on `Content-Length`, a
//! 408, any early refusal) says `Connection: close` instead: hyper drains such a body only if
//! it has already arrived, else closes the connection after the response, and a client told
//! `Keep-Alive` would send its next request into that closing socket (RFC 9112 §9.6: a server
//! that closes says so; nginx does the same for 413).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::http::header::{CONNECTION, HeaderName, HeaderValue};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Connection-level HTTP settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HttpSettings {
    /// How long a connection may take to send a request head (`HEADER_READ_TIMEOUT_SECS`).
    pub(crate) header_read_timeout: Duration,
    /// The largest request head, in bytes (`MAX_HEADER_BYTES`, at least hyper's 8 KiB).
    pub(crate) max_header_bytes: usize,
    /// How long in-flight requests may run on after shutdown begins (`REQUEST_TIMEOUT_SECS`).
    pub(crate) request_timeout: Duration,
}

/// Serves `router` over HTTP/1.1 on `listener` until `shutdown` resolves, then closes the
/// listening socket (new connections are refused) and lets in-flight requests finish for at
/// most `http.request_timeout` (idle keep-alive connections are closed). Accept errors are
/// logged and retried; connection errors are logged at debug level.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    http: HttpSettings,
    shutdown: impl Future<Output = ()>,
) {
    // hyper-util's `GracefulShutdown` does not watch upgradeable connections (WebSockets):
    // the same mechanism by hand. Each connection holds a receiver; shutdown sends, then
    // waits for every receiver to be dropped.
    let (stop, stopped) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    let keep_alive = keep_alive_header(http.header_read_timeout);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let keep_alive = keep_alive.clone();
        let service = hyper::service::service_fn(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let (req, body_read) = track_body(req);
                let answer = router.clone().oneshot(req);
                let keep_alive = keep_alive.clone();
                async move {
                    let mut response = answer.await?;
                    say_what_follows(&mut response, keep_alive, body_read.load(Ordering::Acquire));
                    Ok::<_, std::convert::Infallible>(response)
                }
            },
        );
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(http.header_read_timeout)
            .max_buf_size(http.max_header_bytes);
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = stopped.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!("connection from {peer} ended: {err}");
            }
            drop(stopped);
        });
    }
    // Stop listening now: new connections are refused while in-flight requests finish.
    drop(listener);
    drop(stopped);
    let _ = stop.send(());
    if tokio::time::timeout(http.request_timeout, stop.closed())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests still running at the shutdown deadline");
    }
}

/// `req` with its body wrapped to raise the returned flag once the body has been read to its
/// end (at once for a request without a body).
fn track_body(
    req: axum::extract::Request<hyper::body::Incoming>,
) -> (axum::extract::Request, Arc<AtomicBool>) {
    use axum::body::HttpBody;
    let read = Arc::new(AtomicBool::new(false));
    let req = req.map(|inner| {
        read.store(inner.is_end_stream(), Ordering::Release);
        axum::body::Body::new(TrackedBody {
            inner,
            read: read.clone(),
        })
    });
    (req, read)
}

/// A request body that raises `read` when its last frame has been polled.
struct TrackedBody {
    inner: hyper::body::Incoming,
    read: Arc<AtomicBool>,
}

impl axum::body::HttpBody for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// `timeout=<secs>`: the `Keep-Alive` header value announcing `idle` (whole seconds, at least 1).
fn keep_alive_header(idle: Duration) -> HeaderValue {
    // Digits only: always a valid header value.
    HeaderValue::from_str(&format!("timeout={}", idle.as_secs().max(1)))
        .unwrap_or_else(|_| HeaderValue::from_static("timeout=1"))
}

/// Tells the client what the connection does after `response`: `Connection: close` when the
/// request body was not read to its end (`body_read` false; hyper closes such a connection),
/// else `Keep-Alive: <keep_alive>`, except on a protocol switch (WebSocket) or a response that
/// already says `Connection: close`.
fn say_what_follows(
    response: &mut axum::response::Response,
    keep_alive: HeaderValue,
    body_read: bool,
) {
    if !body_read {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        return;
    }
    let closes = response
        .headers()
        .get(CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    if response.status() != StatusCode::SWITCHING_PROTOCOLS && !closes {
        response
            .headers_mut()
            .insert(HeaderName::from_static("keep-alive"), keep_alive);
    }
}
