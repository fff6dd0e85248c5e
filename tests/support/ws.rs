//! A GraphQL-over-WebSocket test client (graphql-transport-ws or the legacy graphql-ws) on
//! tokio-tungstenite: raw protocol messages, so tests see exactly what the server sends.

#![allow(dead_code)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

/// What the server did next.
#[derive(Debug)]
pub enum Next {
    /// A JSON protocol message.
    Message(Value),
    /// A close frame with its code and reason.
    Closed(u16, String),
    /// Nothing within the wait.
    Silent,
}

pub struct Ws {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub legacy: bool,
}

impl Ws {
    /// Opens `ws://…/graphql` on the server at `base` (`http://host:port`) with `protocol`.
    pub async fn connect(base: &str, protocol: &str) -> Self {
        let url = format!("{}/graphql", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"]
                .to_str()
                .unwrap(),
            protocol
        );
        Self {
            socket,
            legacy: protocol == LEGACY_WS,
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// The next message or close within `wait` (pings and pongs skipped).
    pub async fn next_within(&mut self, wait: Duration) -> Next {
        loop {
            let next = tokio::time::timeout(wait, self.socket.next()).await;
            return match next {
                Err(_) => Next::Silent,
                Ok(None) => Next::Closed(1006, "no close frame".into()),
                Ok(Some(Err(err))) => Next::Closed(1006, err.to_string()),
                Ok(Some(Ok(Message::Text(text)))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ka" || value["type"] == "ping" {
                        continue;
                    }
                    Next::Message(value)
                }
                Ok(Some(Ok(Message::Close(frame)))) => match frame {
                    Some(f) => Next::Closed(f.code.into(), f.reason.to_string()),
                    None => Next::Closed(1005, String::new()),
                },
                Ok(Some(Ok(_))) => continue,
            };
        }
    }

    pub async fn next(&mut self) -> Next {
        self.next_within(Duration::from_secs(10)).await
    }

    /// The next message, which must be one.
    pub async fn message(&mut self) -> Value {
        match self.next().await {
            Next::Message(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The close code the server ends with (messages before it are skipped).
    pub async fn close_code(&mut self) -> (u16, String) {
        loop {
            match self.next_within(Duration::from_secs(15)).await {
                Next::Closed(code, reason) => return (code, reason),
                Next::Message(_) => continue,
                Next::Silent => panic!("the server did not close the socket"),
            }
        }
    }

    /// `connection_init` with `payload`; returns the next message (the ack, if accepted).
    pub async fn init(&mut self, payload: Value) -> Next {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        self.next().await
    }

    /// Init with `Authorization: Bearer <token>`, asserting the ack.
    pub async fn init_with(&mut self, token: &str) {
        match self
            .init(json!({ "Authorization": format!("Bearer {token}") }))
            .await
        {
            Next::Message(m) => assert_eq!(m["type"], "connection_ack", "{m}"),
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.legacy { "start" } else { "subscribe" };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next `next`/`data` payload (`{data, errors}`) of any subscription.
    pub async fn payload(&mut self) -> Value {
        let message = self.message().await;
        let kind = if self.legacy { "data" } else { "next" };
        assert_eq!(message["type"], kind, "{message}");
        message["payload"].clone()
    }

    /// Asserts nothing arrives for `wait`.
    pub async fn quiet(&mut self, wait: Duration) {
        match self.next_within(wait).await {
            Next::Silent => {}
            other => panic!("expected silence, got {other:?}"),
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
