//! Webhook delivery: a worker per server instance ([`spawn`], stopped with
//! [`Worker::stop`] on graceful shutdown) that claims due endpoints of any project (a lease,
//! `service::store::webhooks::claim_due`), reads each one's project log after its cursor and
//! POSTs the subscribed events in position order, signed as Standard Webhooks says
//! ([`send`]), through the SSRF guard ([`ssrf`]). At least once: the cursor moves only after
//! a 2xx; a killed instance's lease expires and another (or the restarted one) delivers again.
//!
//! The worker wakes at every commit that logged events on this instance
//! (`service::events::any_doorbell`) and otherwise every `WEBHOOK_POLL_INTERVAL_MS`.

pub mod send;
pub mod ssrf;
pub mod worker;

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::db;

/// The worker's settings (from [`Config`]'s `WEBHOOK_*` settings).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// How often to look for due endpoints without a wake-up.
    pub poll_interval: Duration,
    /// Connect timeout of one attempt.
    pub connect_timeout: Duration,
    /// Total timeout of one attempt.
    pub response_timeout: Duration,
    /// Consecutive failures after which an endpoint is disabled.
    pub max_failures: u32,
    /// Backoff base.
    pub backoff_base: Duration,
    /// Backoff cap.
    pub backoff_cap: Duration,
    /// Whether private destinations are allowed (`WEBHOOK_ALLOW_PRIVATE_DESTINATIONS`).
    pub allow_private: bool,
    /// Attempts kept per endpoint.
    pub deliveries_kept: u32,
}

impl Settings {
    /// The settings of `config`.
    pub fn of(config: &Config) -> Self {
        Self {
            poll_interval: Duration::from_millis(config.webhook_poll_interval_ms.max(10)),
            connect_timeout: Duration::from_millis(config.webhook_connect_timeout_ms.max(1)),
            response_timeout: Duration::from_millis(config.webhook_response_timeout_ms.max(1)),
            max_failures: config.webhook_max_failures.max(1),
            backoff_base: Duration::from_millis(config.webhook_backoff_base_ms),
            backoff_cap: Duration::from_millis(config.webhook_backoff_cap_ms),
            allow_private: config.webhook_allow_private_destinations,
            deliveries_kept: config.webhook_deliveries_kept.max(1),
        }
    }

    /// How long a claim holds an endpoint: one attempt's longest time plus a margin (the
    /// worker renews it after each delivery). A killed instance's endpoints wait this long.
    pub fn lease(&self) -> Duration {
        self.connect_timeout + self.response_timeout + Duration::from_secs(5)
    }
}

/// What a resolver needs of the webhook settings (in the schema's data): the SSRF policy of
/// `createWebhook` / `updateWebhook`.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// `WEBHOOK_ALLOW_PRIVATE_DESTINATIONS`.
    pub allow_private: bool,
}

/// The worker's own database handle: a small pool of its own over `config.database_url`
/// (so its polling never queues behind, or is counted with, the API's statements), or the
/// server's writer for an in-memory SQLite database (where another connection would be
/// another database). Errors: the driver's.
pub async fn connect(
    config: &Config,
    server: &db::Db,
) -> Result<(DatabaseConnection, bool), sea_orm::DbErr> {
    let url = config.database_url.as_str();
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok((server.write.clone(), false));
    }
    let mut own = config.clone();
    own.db_max_connections = 2;
    Ok((db::connect(&own).await?, true))
}

pub use worker::{Worker, spawn};
