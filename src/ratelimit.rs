//! Rate limits (the `governor` crate, GCRA): anonymous sign-ins per client IP, sign-in
//! attempts per email (brute force), and mutations per token (user). Over a limit the call
//! fails with `RATE_LIMITED` and `extensions.retryAfter` (whole seconds, like HTTP's
//! `Retry-After`, RFC 9110 §10.2.3). A limit of 0 disables it.
//!
//! The counters live in the process: behind a load balancer each instance counts on its own,
//! so the effective limit is the configured one times the number of instances. A key (IP,
//! email, user) stays in memory only while its budget is partly spent: [`prune_every`] drops
//! the others every [`PRUNE_INTERVAL`] (governor's `retain_recent`), so memory follows the
//! keys active in the last minute, not every key ever seen.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

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

/// The limiters of one server process.
pub struct RateLimits {
    anonymous: Option<DefaultKeyedRateLimiter<IpAddr>>,
    sign_in: Option<DefaultKeyedRateLimiter<String>>,
    mutations: Option<DefaultKeyedRateLimiter<Uuid>>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> AppResult<()> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::RateLimited {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

impl RateLimits {
    /// Limiters for `config`.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            anonymous: limiter(config.anonymous_per_ip),
            sign_in: limiter(config.sign_in_per_email),
            mutations: limiter(config.mutations_per_token),
        }
    }

    /// Counts an anonymous sign-in from `ip`. Errors: `RATE_LIMITED`.
    pub fn anonymous_sign_in(&self, ip: IpAddr) -> AppResult<()> {
        check(&self.anonymous, &ip)
    }

    /// Counts a sign-in attempt for the normalised `email_key`. Errors: `RATE_LIMITED`.
    pub fn sign_in(&self, email_key: &str) -> AppResult<()> {
        check(&self.sign_in, &email_key.to_owned())
    }

    /// Counts a mutation by `user`. Errors: `RATE_LIMITED`.
    pub fn mutation(&self, user: Uuid) -> AppResult<()> {
        check(&self.mutations, &user)
    }

    /// Keys held, over the three limiters.
    pub fn keys(&self) -> usize {
        self.anonymous.as_ref().map_or(0, |l| l.len())
            + self.sign_in.as_ref().map_or(0, |l| l.len())
            + self.mutations.as_ref().map_or(0, |l| l.len())
    }

    /// Forgets every key whose budget is whole again (it would be recreated identical) and
    /// gives the freed capacity back to the allocator.
    pub fn prune(&self) {
        fn prune_one<K: std::hash::Hash + Eq + Clone>(l: &Option<DefaultKeyedRateLimiter<K>>) {
            if let Some(l) = l {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
        prune_one(&self.anonymous);
        prune_one(&self.sign_in);
        prune_one(&self.mutations);
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
        limits.prune();
    }
}

/// The client's IP address, as the HTTP layer determined it (the peer address, or the
/// configured trusted proxy header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);
