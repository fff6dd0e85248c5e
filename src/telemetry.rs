//! Tracing set-up and the shutdown signal.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global `tracing` subscriber: human-readable lines on stderr, filtered by
/// `RUST_LOG` (default `info,sqlx=warn,sea_orm=warn`). Safe to call more than once.
pub fn init() {
    init_with(LogFormat::Text);
}

/// Like [`init`], in the given line format (`json`: one JSON object per line, with the
/// current spans, e.g. the `request_id`).
pub fn init_with(format: LogFormat) {
    init_with_traces(format, None);
}

/// Like [`init_with`], and with `traces`' layer ([`crate::traces`]) beside the log lines when
/// given: `RUST_LOG` then filters the log lines only, not the exported spans.
pub fn init_with_traces(format: LogFormat, traces: Option<&crate::traces::Traces>) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let Some(traces) = traces else {
        // No traces: the log filter is global, so disabled spans (SeaORM's) cost nothing.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        let _ = match format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .try_init(),
        };
        return;
    };
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Text => lines.with_filter(filter).boxed(),
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(traces.layer())
        .try_init();
}

/// Resolves on ctrl-c or SIGTERM: the trigger of a graceful shutdown.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, finishing in-flight requests");
}
