//! The in-process store of [`super::RateLimits`]: `governor`'s keyed GCRA limiters, one per
//! limit. A key (IP, email, user) stays in memory only while its budget is partly spent:
//! [`MemoryLimits::prune`] drops the others (governor's `retain_recent`), so memory follows
//! the keys active in the last minute, not every key ever seen.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::{Limit, RateLimitConfig};

/// The three limiters of one process (`None`: the limit is off).
pub struct MemoryLimits {
    anonymous: Option<DefaultKeyedRateLimiter<String>>,
    sign_in: Option<DefaultKeyedRateLimiter<String>>,
    mutations: Option<DefaultKeyedRateLimiter<String>>,
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    NonZeroU32::new(per_minute).map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)))
}

impl MemoryLimits {
    /// Limiters for `config`.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            anonymous: limiter(config.anonymous_per_ip),
            sign_in: limiter(config.sign_in_per_email),
            mutations: limiter(config.mutations_per_token),
        }
    }

    fn of(&self, limit: Limit) -> Option<&DefaultKeyedRateLimiter<String>> {
        match limit {
            Limit::Anonymous => self.anonymous.as_ref(),
            Limit::SignIn => self.sign_in.as_ref(),
            Limit::Mutations => self.mutations.as_ref(),
        }
    }

    /// Spends `cost` cells of `key`'s budget: `Err(wait)` when they are not all there (then
    /// none is spent), with the time until they are.
    pub fn check(&self, limit: Limit, key: &str, cost: u32) -> Result<(), Duration> {
        let (Some(limiter), Some(n)) = (self.of(limit), NonZeroU32::new(cost)) else {
            return Ok(());
        };
        match limiter.check_key_n(&key.to_owned(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
            // More than the whole budget: the caller refuses that before asking.
            Err(_) => Err(Duration::from_secs(60)),
        }
    }

    /// Keys held, over the three limiters.
    pub fn keys(&self) -> usize {
        [&self.anonymous, &self.sign_in, &self.mutations]
            .into_iter()
            .flatten()
            .map(|l| l.len())
            .sum()
    }

    /// Forgets every key whose budget is whole again (it would be recreated identical) and
    /// gives the freed capacity back to the allocator.
    pub fn prune(&self) {
        for l in [&self.anonymous, &self.sign_in, &self.mutations]
            .into_iter()
            .flatten()
        {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}
