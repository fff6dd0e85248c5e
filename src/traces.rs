//! OpenTelemetry traces over OTLP/HTTP (protobuf), on only when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set. Each HTTP request is a span (`otel.kind = server`) that continues the client's W3C
//! `traceparent` / `tracestate` (W3C Trace Context), with its `request_id`; under it a span
//! per GraphQL operation (named `query Name` / `mutation Name`, OpenTelemetry's GraphQL
//! semantic conventions) and a span per SQL statement (SeaORM's `tracing-spans`: `db.system`,
//! `db.operation`, `db.statement` with bind placeholders, never values).
//!
//! `tracing-opentelemetry` turns those `tracing` spans into OpenTelemetry spans;
//! `opentelemetry-otlp` exports them in batches from its own thread, through the server's
//! reqwest client on the tokio runtime (one HTTP client in the binary). Statements of
//! background tasks outside any span (replica polling, the event listener) are not exported:
//! they would be a root trace every few milliseconds.

use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::FilterExt as _;
use tracing_subscriber::filter::{DynFilterFn, LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// How long one export to the collector may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The running trace pipeline: keep it for the process's life and [`Traces::shutdown`] it
/// last, so spans still buffered are sent.
pub struct Traces {
    provider: SdkTracerProvider,
}

/// The trace exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[error("OpenTelemetry exporter: {0}")]
pub struct TracesError(String);

impl Traces {
    /// Starts exporting to the collector at `endpoint` (its base URL, e.g.
    /// `http://127.0.0.1:4318`: spans go to `<endpoint>/v1/traces`, as for the standard
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`), with `service.name` = `service_name`. Call it on the
    /// tokio runtime, which carries the exports. Errors: [`TracesError`] for an endpoint that
    /// is not a URL or a client that cannot be built.
    pub fn start(endpoint: &str, service_name: &str) -> Result<Self, TracesError> {
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|err| TracesError(err.to_string()))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(OnRuntime {
                client,
                runtime: tokio::runtime::Handle::current(),
            })
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|err| TracesError(err.to_string()))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name.to_owned())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        Ok(Self { provider })
    }

    /// The `tracing` layer that records this server's spans (target `contacts_server`, INFO
    /// and up) and SeaORM's statement spans inside them, into this pipeline.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let ours = Targets::new()
            .with_target("contacts_server", LevelFilter::INFO)
            .with_target("sea_orm", LevelFilter::INFO);
        // A statement outside any span (a background poll) is not a trace worth sending.
        let in_a_span = DynFilterFn::new(|meta, cx| {
            !meta.is_span()
                || !meta.target().starts_with("sea_orm")
                || cx.lookup_current().is_some()
        });
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("contacts-server"))
            .with_filter(ours.and(in_a_span))
    }

    /// Sends the spans still buffered (waiting at most the export timeout), then stops the
    /// exporter's thread. Failures are logged.
    pub async fn shutdown(self) {
        let provider = self.provider;
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("flushing traces: {err}"),
            Err(err) => tracing::warn!("flushing traces: {err}"),
        }
    }
}

/// Makes `span` continue the trace of `headers`' W3C `traceparent` (and `tracestate`), when
/// they carry a valid one; else `span` starts a new trace. A no-op without [`Traces::layer`].
pub(crate) fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent =
        TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    // Err only when no OpenTelemetry layer is installed: nothing to continue then.
    let _ = span.set_parent(parent);
}

/// OTLP's HTTP client: the server's reqwest client, run on the tokio runtime (the batch
/// exporter calls it from its own thread, outside the runtime).
#[derive(Debug)]
struct OnRuntime {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            let mut answer = Response::new(body);
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok::<_, HttpError>(answer)
        });
        sent.await?
    }
}
