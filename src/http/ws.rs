//! GraphQL over WebSocket at `GET /graphql` (an `Upgrade: websocket` request): subprotocols
//! `graphql-transport-ws` (the graphql-ws library's protocol) and the legacy `graphql-ws` of
//! subscriptions-transport-ws, both run by async-graphql's `http::WebSocket`. Around it:
//!
//! - the token travels in `connection_init`'s payload (`{"Authorization": "Bearer …"}`;
//!   browsers cannot set headers on a WebSocket); none, or an invalid one: close 4403;
//! - no `connection_init` within `WS_INIT_TIMEOUT_SECS`: close 4408 (graphql-ws's codes);
//! - the token's expiry closes the socket (4403, "token expired"): sign in again, resume
//!   with `after:`;
//! - more than `WS_MAX_CONNECTIONS_PER_TOKEN` sockets of one user on this instance: 4429;
//! - a message the client leaves unread for `WS_SEND_TIMEOUT_SECS`: close 1013 (RFC 6455
//!   "try again later"); nothing is buffered for it beyond one page of the log;
//! - server shutdown: close 1001.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::futures_util::stream::{self, BoxStream};
use async_graphql::futures_util::{SinkExt, StreamExt};
use async_graphql::http::{
    ALL_WEBSOCKET_PROTOCOLS, WebSocket as GraphqlSocket, WebSocketProtocols, WsMessage,
};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::AppState;
use crate::auth::{AuthState, Caller};
use crate::graphql::prepare::Gate;
use crate::graphql::schema::AppSchema;
use crate::graphql::subscription::SubscriptionBudget;

/// Close codes sent by this server (graphql-ws's where it has one).
pub mod close {
    /// The token in `connection_init` is missing, invalid or expired, or expired since.
    pub const FORBIDDEN: u16 = 4403;
    /// No `connection_init` in time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// Too many connections for this user on this instance.
    pub const TOO_MANY_CONNECTIONS: u16 = 4429;
    /// The client does not read what it is sent (RFC 6455 1013, "try again later").
    pub const SLOW_CONSUMER: u16 = 1013;
    /// The server is shutting down (RFC 6455 1001, "going away").
    pub const GOING_AWAY: u16 = 1001;
}

/// The WebSocket limits and this instance's open connections per user.
pub(crate) struct WsSettings {
    pub(crate) init_timeout: Duration,
    pub(crate) send_timeout: Duration,
    pub(crate) max_connections_per_user: usize,
    pub(crate) max_subscriptions_per_connection: usize,
    open: Mutex<HashMap<Uuid, usize>>,
    /// Becomes `true` when the server shuts down.
    pub(crate) closing: watch::Sender<bool>,
}

impl WsSettings {
    pub(crate) fn new(
        init_timeout: Duration,
        send_timeout: Duration,
        max_connections_per_user: usize,
        max_subscriptions_per_connection: usize,
    ) -> Self {
        Self {
            init_timeout,
            send_timeout,
            max_connections_per_user,
            max_subscriptions_per_connection,
            open: Mutex::new(HashMap::new()),
            closing: watch::channel(false).0,
        }
    }

    /// One more connection of `user`, released when the guard drops; `None` over the cap.
    fn open(self: &Arc<Self>, user: Uuid) -> Option<OpenConnection> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(user).or_insert(0);
        if *n >= self.max_connections_per_user {
            return None;
        }
        *n += 1;
        Some(OpenConnection {
            settings: self.clone(),
            user,
        })
    }
}

struct OpenConnection {
    settings: Arc<WsSettings>,
    user: Uuid,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let mut open = self
            .settings
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

/// What runs each `subscribe` of a socket: the same gate as HTTP (persisted queries, parse
/// cache, depth / complexity / alias / root-field limits), subscriptions only (queries and
/// mutations go over HTTP, where the mutation budget applies: `BAD_REQUEST` here), and every
/// error coded as over HTTP.
#[derive(Clone)]
struct SocketExecutor {
    schema: AppSchema,
    gate: Arc<Gate>,
}

impl async_graphql::Executor for SocketExecutor {
    fn execute(
        &self,
        request: async_graphql::Request,
    ) -> impl std::future::Future<Output = async_graphql::Response> + Send {
        let stream = self.execute_stream(request, None);
        async move {
            let mut stream = stream;
            stream
                .next()
                .await
                .unwrap_or_else(|| async_graphql::Response::new(async_graphql::Value::Null))
        }
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        let refuse = |error: async_graphql::ServerError| {
            let mut response = async_graphql::Response::from_errors(vec![error]);
            super::graphql::give_codes(&mut response);
            stream::once(std::future::ready(response)).boxed()
        };
        let prepared = match self.gate.prepare(request) {
            Ok(prepared) => prepared,
            Err(error) => return refuse(error),
        };
        if !prepared
            .operation
            .as_ref()
            .is_some_and(|o| o.is_subscription)
        {
            let mut error = async_graphql::ServerError::new(
                "only subscriptions run over the WebSocket: send queries and mutations to POST /graphql",
                None,
            );
            error.extensions = Some({
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", crate::error::ErrorCode::BadRequest.as_str());
                ext
            });
            return refuse(error);
        }
        let responses = match session_data {
            Some(data) => self
                .schema
                .execute_stream_with_session_data(prepared.request, data),
            None => self.schema.execute_stream(prepared.request),
        };
        responses
            .map(|mut response| {
                super::graphql::give_codes(&mut response);
                response
            })
            .boxed()
    }
}

/// Whether `request` asks to become a WebSocket.
pub(super) fn is_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Answers the upgrade: 400 without a GraphQL subprotocol (axum's rejection for a bad
/// handshake), else 101 and the session.
pub(super) async fn upgrade(state: AppState, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let protocol = parts
        .headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        });
    let Some(protocol) = protocol else {
        return super::refusal::refuse(
            axum::http::StatusCode::BAD_REQUEST,
            crate::error::ErrorCode::BadRequest,
            "a WebSocket on /graphql needs the subprotocol `graphql-transport-ws` or `graphql-ws`",
        );
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| session(state, socket, protocol))
}

/// What `connection_init` decided.
enum Init {
    Accepted(Caller, chrono::DateTime<chrono::Utc>, OpenConnection),
    Refused(u16, &'static str),
}

/// The token of a `connection_init` payload: `Authorization` (any case), or `authToken` /
/// `token` (Apollo and graphql-ws examples use them), as `Bearer …` or bare.
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    let value = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .or_else(|| {
            object
                .iter()
                .find(|(k, _)| *k == "authToken" || *k == "token")
        })
        .and_then(|(_, v)| v.as_str())?;
    let value = value.trim();
    Some(if value.contains(' ') {
        value.to_owned()
    } else {
        format!("Bearer {value}")
    })
}

async fn session(state: AppState, socket: WebSocket, protocol: WebSocketProtocols) {
    let settings = state.ws.clone();
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|m| std::future::ready(m.is_ok()))
        .filter_map(|m| {
            std::future::ready(match m {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => Some(m.into_data()),
                _ => None,
            })
        });
    let (decided, mut decision) = oneshot::channel::<Init>();
    let keys = state.keys.clone();
    let budget = SubscriptionBudget::new(settings.max_subscriptions_per_connection);
    let init_settings = settings.clone();
    let executor = SocketExecutor {
        schema: state.schema.clone(),
        gate: state.gate.clone(),
    };
    let mut messages = GraphqlSocket::new(executor, input, protocol).on_connection_init(
        move |payload| async move {
            let outcome = match payload_token(&payload).and_then(|t| keys.bearer_until(&t)) {
                None => Init::Refused(close::FORBIDDEN, "Forbidden: a valid token is required"),
                Some((caller, expires)) => match init_settings.open(caller.user_id) {
                    None => Init::Refused(
                        close::TOO_MANY_CONNECTIONS,
                        "Too many connections for this token",
                    ),
                    Some(open) => Init::Accepted(caller, expires, open),
                },
            };
            let result = match &outcome {
                Init::Accepted(caller, _, _) => {
                    let mut data = Data::default();
                    data.insert(AuthState::Authenticated(*caller));
                    data.insert(budget);
                    Ok(data)
                }
                Init::Refused(_, reason) => Err(async_graphql::Error::new(*reason)),
            };
            let _ = decided.send(outcome);
            result
        },
    );
    let mut closing = settings.closing.subscribe();
    let init_deadline = tokio::time::sleep(settings.init_timeout);
    tokio::pin!(init_deadline);
    let mut initialised = false;
    let mut refused: Option<(u16, &'static str)> = None;
    // Held for the connection's life: its slot in the per-user count.
    let mut _open: Option<OpenConnection> = None;
    let expiry = tokio::time::sleep(Duration::from_secs(u64::MAX / 4));
    tokio::pin!(expiry);
    let end: Option<(u16, String)> = loop {
        tokio::select! {
            message = messages.next() => match message {
                // The library ends a refused init with its own close (1002) or, on the legacy
                // protocol, a `connection_error` and the end: send the refusal's code instead.
                None => break refusal(&mut refused, &mut decision, initialised).map(|(c, r)| (c, r.to_owned())),
                Some(WsMessage::Close(code, reason)) => {
                    break Some(
                        refusal(&mut refused, &mut decision, initialised)
                            .map_or((code, reason), |(c, r)| (c, r.to_owned())),
                    );
                }
                Some(WsMessage::Text(text)) => {
                    let sent = tokio::time::timeout(
                        settings.send_timeout,
                        sink.send(Message::Text(text.into())),
                    )
                    .await;
                    match sent {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break None,
                        Err(_) => break Some((close::SLOW_CONSUMER, "slow consumer: resume with `after:`".into())),
                    }
                }
            },
            outcome = &mut decision, if !initialised => {
                initialised = true;
                match outcome {
                    Ok(Init::Accepted(_, expires, open)) => {
                        _open = Some(open);
                        let left = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
                        expiry.as_mut().reset(tokio::time::Instant::now() + left);
                    }
                    Ok(Init::Refused(code, reason)) => refused = Some((code, reason)),
                    Err(_) => {}
                }
            },
            () = &mut init_deadline, if !initialised => {
                break Some((close::INIT_TIMEOUT, "Connection initialisation timeout".into()));
            },
            () = &mut expiry => break Some((close::FORBIDDEN, "token expired".into())),
            () = async { let _ = closing.wait_for(|c| *c).await; } => break Some((close::GOING_AWAY, "server shutting down".into())),
        }
    };
    if let Some((code, reason)) = end {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(frame)).await;
    }
}

/// The refusal of this connection's `connection_init`, if it was refused (whether or not the
/// session loop has seen the decision yet).
fn refusal(
    refused: &mut Option<(u16, &'static str)>,
    decision: &mut oneshot::Receiver<Init>,
    initialised: bool,
) -> Option<(u16, &'static str)> {
    if !initialised && let Ok(Init::Refused(code, reason)) = decision.try_recv() {
        *refused = Some((code, reason));
    }
    *refused
}
