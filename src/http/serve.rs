//! The HTTP/1 accept loop. axum 0.8's `serve` cannot set hyper's header-read timeout, so each
//! connection is served by hyper directly: its request head must arrive within the timeout
//! and fit the header buffer (hyper answers 408 / 431 or closes the connection), so slow or
//! oversized clients cannot hold connections open.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
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
        let service = hyper::service::service_fn(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
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
