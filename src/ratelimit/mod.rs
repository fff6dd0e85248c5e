//! Rate limits: anonymous sign-ins per client IP, sign-in attempts per email (brute force),
//! and mutations per token (user), each a GCRA budget of N per minute (burst N). Over a limit
//! the call fails with `RATE_LIMITED` and `extensions.retryAfter` (whole seconds, like HTTP's
//! `Retry-After`, RFC 9110 §10.2.3). A limit of 0 disables it.
//!
//! Two stores behind one API ([`RateLimits`]), chosen by `RATE_LIMIT_STORE`:
//! - [`memory`]: the `governor` crate's keyed limiters in this process. Behind a load balancer
//!   each instance counts on its own (N instances give N times the budget).
//! - [`postgres`]: one `UNLOGGED` table of the database, one statement per check, so every
//!   instance over that database spends one budget (the default on PostgreSQL).

use std::net::IpAddr;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub mod memory;
pub mod postgres;

/// Limits per minute; 0 disables one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `signInAnonymously` calls per client IP per minute.
    pub anonymous_per_ip: u32,
    /// `signIn` attempts per email per minute.
    pub sign_in_per_email: u32,
    /// Mutations per token (user) per minute.
    pub mutations_per_token: u32,
}

/// Which budget a check spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `signInAnonymously` per client IP.
    Anonymous,
    /// `signIn` per normalised email.
    SignIn,
    /// Mutations per user.
    Mutations,
}

impl Limit {
    /// The stable name of the limit (the shared store's key prefix).
    pub fn name(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::SignIn => "sign_in",
            Self::Mutations => "mutations",
        }
    }

    fn per_minute(self, config: &RateLimitConfig) -> u32 {
        match self {
            Self::Anonymous => config.anonymous_per_ip,
            Self::SignIn => config.sign_in_per_email,
            Self::Mutations => config.mutations_per_token,
        }
    }
}

enum Store {
    Memory(Box<memory::MemoryLimits>),
    Postgres(DatabaseConnection),
}

/// The rate limits of one server: the configured budgets over their store.
pub struct RateLimits {
    config: RateLimitConfig,
    store: Store,
}

/// The `RATE_LIMITED` error for a wait of `wait`, rounded up to whole seconds (at least 1).
fn limited(wait: std::time::Duration) -> AppError {
    AppError::RateLimited {
        retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
    }
}

impl RateLimits {
    /// Budgets counted in this process.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            store: Store::Memory(Box::new(memory::MemoryLimits::new(config))),
        }
    }

    /// Budgets counted in `db`'s `rate_limit_bucket` table (PostgreSQL), shared by every
    /// server over that database.
    pub fn shared(config: RateLimitConfig, db: DatabaseConnection) -> Self {
        Self {
            config,
            store: Store::Postgres(db),
        }
    }

    /// Whether the budgets are shared through the database.
    pub fn is_shared(&self) -> bool {
        matches!(self.store, Store::Postgres(_))
    }

    /// Spends `cost` cells of `limit`'s budget for `key` (an IP, a normalised email, a user id
    /// as text). No statement when the limit is off. Errors: `RATE_LIMITED` (also when `cost`
    /// exceeds the whole budget), `INTERNAL` when the shared store cannot be reached (the
    /// limit fails closed).
    pub async fn check(&self, limit: Limit, key: &str, cost: u32) -> AppResult<()> {
        let per_minute = limit.per_minute(&self.config);
        if per_minute == 0 || cost == 0 {
            return Ok(());
        }
        if cost > per_minute {
            return Err(limited(std::time::Duration::from_secs(60)));
        }
        let verdict = match &self.store {
            Store::Memory(m) => m.check(limit, key, cost),
            Store::Postgres(db) => postgres::check(db, limit, key, per_minute, cost).await?,
        };
        verdict.map_err(limited)
    }

    /// Counts an anonymous sign-in from `ip`. Errors: as [`RateLimits::check`].
    pub async fn anonymous_sign_in(&self, ip: IpAddr) -> AppResult<()> {
        self.check(Limit::Anonymous, &ip.to_string(), 1).await
    }

    /// Counts a sign-in attempt for the normalised `email_key`. Errors: as
    /// [`RateLimits::check`].
    pub async fn sign_in(&self, email_key: &str) -> AppResult<()> {
        self.check(Limit::SignIn, email_key, 1).await
    }

    /// Counts `cost` mutations (an operation's root fields) by `user`. Errors: as
    /// [`RateLimits::check`].
    pub async fn mutation(&self, user: Uuid, cost: u32) -> AppResult<()> {
        self.check(Limit::Mutations, &user.to_string(), cost).await
    }

    /// Keys held in process memory (0 for the shared store).
    pub fn keys(&self) -> usize {
        match &self.store {
            Store::Memory(m) => m.keys(),
            Store::Postgres(_) => 0,
        }
    }

    /// Forgets every key whose budget is whole again: in memory (freeing the capacity), or
    /// with one `DELETE` in the shared table. Errors are logged.
    pub async fn prune(&self) {
        match &self.store {
            Store::Memory(m) => m.prune(),
            Store::Postgres(db) => {
                if let Err(err) = postgres::prune(db).await {
                    tracing::warn!("pruning the rate-limit table: {err}");
                }
            }
        }
    }
}

/// How often a serving process prunes its limiters.
pub const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Prunes `limits` every `interval`, forever (the server spawns it and aborts it at shutdown).
pub async fn prune_every(limits: Arc<RateLimits>, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        limits.prune().await;
    }
}

/// The client's IP address, as the HTTP layer determined it (the peer address, or the
/// configured trusted proxy header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);
