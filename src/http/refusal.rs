//! HTTP-level refusals in the GraphQL shape (`{"errors": [{"message", "extensions":
//! {"code"}}]}`): a request that never reached GraphQL execution. Codes: `BAD_REQUEST` (400),
//! `PAYLOAD_TOO_LARGE` (413); the GraphQL handler adds `METHOD_NOT_ALLOWED` (405) and the 415 of a
//! wrong content type.

use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::error::ErrorCode;

/// A request body that is not a GraphQL request (malformed JSON, a batch, a wrong content
/// type): answered like GraphQL over HTTP does, `400` with `{"errors": [...]}` and
/// `extensions.code` `BAD_REQUEST` (`PAYLOAD_TOO_LARGE` and 413 for an oversized body).
pub(crate) struct BadGraphqlRequest(async_graphql::ParseRequestError);

impl From<async_graphql::ParseRequestError> for BadGraphqlRequest {
    fn from(err: async_graphql::ParseRequestError) -> Self {
        Self(err)
    }
}

impl IntoResponse for BadGraphqlRequest {
    fn into_response(self) -> axum::response::Response {
        use async_graphql::ParseRequestError as E;
        let (status, code, message) = match &self.0 {
            E::PayloadTooLarge => too_large(),
            E::UnsupportedBatch => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "batch requests are not supported".to_owned(),
            ),
            E::InvalidRequest(err) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("invalid request body: {err}"),
            ),
            other => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("invalid request: {other}"),
            ),
        };
        refuse(status, code, &message)
    }
}

/// The 413 of a body over the limit: status, `PAYLOAD_TOO_LARGE`, message.
pub(crate) fn too_large() -> (StatusCode, ErrorCode, String) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        "request body too large".to_owned(),
    )
}

/// Whether `err` (or an error it wraps) is the body length limit.
pub(crate) fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Middleware: a 413 that is not JSON yet (tower-http's own, for a `Content-Length` over the
/// limit) becomes `{"errors": [{"extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}`.
pub(crate) async fn graphql_shaped_413(
    response: axum::response::Response,
) -> axum::response::Response {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || is_json {
        return response;
    }
    let (status, code, message) = too_large();
    refuse(status, code, &message)
}

/// An HTTP-level refusal in the GraphQL shape: `status`, `code`, `message`.
pub(crate) fn refuse(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
) -> axum::response::Response {
    (status, axum::Json(code.http_body(message))).into_response()
}
