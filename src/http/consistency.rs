//! Read-your-writes over read replicas ([`crate::replicas`]) at the HTTP layer: the
//! consistency token a mutation's answer carries, and the one a query sends back.
//!
//! - After a mutation (with replicas configured): `extensions.consistencyToken` and the
//!   response header `x-consistency-token`, the primary's WAL position (`X/Y`).
//! - A query sends it back as the request header `x-consistency-token` or the request's
//!   `extensions.consistencyToken` (the header wins); a malformed one is `BAD_REQUEST`.
//! - Every answer served with replicas configured names its database in `x-read-from`
//!   (`primary` or `replica-N`).

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::ErrorCode;
use crate::replicas::{Lsn, Replicas};

/// The request and response header of the consistency token.
pub const CONSISTENCY_TOKEN: HeaderName = HeaderName::from_static("x-consistency-token");

/// The response header naming the database that served the reads.
pub const READ_FROM: HeaderName = HeaderName::from_static("x-read-from");

/// The request extension of the consistency token.
const EXTENSION: &str = "consistencyToken";

/// The consistency token `request` sent (header, else extension, which is removed), if any.
/// Errors: `BAD_REQUEST` for one that is not a WAL position.
pub(super) fn token(
    headers: &HeaderMap,
    request: &mut async_graphql::Request,
) -> Result<Option<Lsn>, async_graphql::ServerError> {
    let from_extension = request.extensions.remove(EXTENSION);
    let text = match headers.get(CONSISTENCY_TOKEN) {
        Some(value) => Some(value.to_str().map(str::to_owned).map_err(|_| bad())?),
        None => match from_extension {
            None | Some(async_graphql::Value::Null) => None,
            Some(async_graphql::Value::String(text)) => Some(text),
            Some(_) => return Err(bad()),
        },
    };
    text.map(|t| t.parse::<Lsn>().map_err(|_| bad()))
        .transpose()
}

fn bad() -> async_graphql::ServerError {
    ErrorCode::BadRequest.server_error("the consistency token is not one this server gave")
}

/// After a mutation: asks the primary for the token of what it has committed and puts it in
/// `response.extensions.consistencyToken`; `None` (logged) when the primary does not answer
/// (the client then reads from the primary or a replica as without a token).
pub(super) async fn after_write(
    replicas: &Replicas,
    response: &mut async_graphql::Response,
) -> Option<Lsn> {
    match replicas.token().await {
        Ok(lsn) => {
            response.extensions.insert(
                EXTENSION.to_owned(),
                async_graphql::Value::String(lsn.to_string()),
            );
            Some(lsn)
        }
        Err(err) => {
            tracing::warn!("reading the consistency token: {err}");
            None
        }
    }
}

/// Sets `x-read-from` and `x-consistency-token` when known.
pub(super) fn set_headers(headers: &mut HeaderMap, read_from: Option<&str>, token: Option<Lsn>) {
    if let Some(value) = read_from.and_then(|n| HeaderValue::from_str(n).ok()) {
        headers.insert(READ_FROM, value);
    }
    if let Some(value) = token.and_then(|t| HeaderValue::from_str(&t.to_string()).ok()) {
        headers.insert(CONSISTENCY_TOKEN, value);
    }
}
