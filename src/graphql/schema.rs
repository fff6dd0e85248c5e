//! Schema construction: without data for SDL export, with data for serving.

use async_graphql::{Schema, SchemaBuilder};

use std::sync::Arc;

use super::limits::MAX_RECURSION;
use super::mutation::Mutation;
use super::query::Query;
use super::subscription::Subscription;
use crate::auth::{Caller, IssuedToken, JwtKeys, Role};
use crate::db::{Db, Writer};
use crate::error::AppResult;
use crate::events::Feeds;
use crate::ratelimit::RateLimits;

/// The executable schema type.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Issues tokens with the configured lifetimes (agents and visitors differ).
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    /// The signing keys.
    pub keys: JwtKeys,
    /// Agents' token lifetime, in seconds.
    pub agent_ttl_secs: u64,
    /// Visitors' token lifetime, in seconds.
    pub visitor_ttl_secs: u64,
}

impl TokenIssuer {
    /// A token for `caller` with its role's lifetime. Errors: `INTERNAL`.
    pub fn issue(&self, caller: Caller) -> AppResult<IssuedToken> {
        let ttl = if caller.role == Role::Guest {
            self.visitor_ttl_secs
        } else {
            self.agent_ttl_secs
        };
        self.keys.issue(caller, ttl)
    }
}

/// The schema builder with no data attached: enough to export SDL.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query, Mutation::default(), Subscription)
}

/// The executable schema over `db`, issuing tokens with `issuer`. It enforces no depth or
/// complexity limit: `super::prepare` checks every limit before it executes a request (its
/// fragment recursion bound is also async-graphql's, [`MAX_RECURSION`]).
/// Resolvers find the reader as `ctx.data::<DatabaseConnection>()` and the writer as
/// `ctx.data::<Writer>()` (the same pool unless `db` is split, see [`Db`]); subscriptions
/// find the event feeds as `ctx.data::<Arc<Feeds>>()`.
pub fn build_schema(
    db: Db,
    issuer: TokenIssuer,
    rate_limits: Arc<RateLimits>,
    feeds: Arc<Feeds>,
    webhooks: crate::webhooks::Policy,
    bulk: crate::service::bulk::Settings,
) -> AppSchema {
    // No `.extension(..)`: any extension sends every field through async-graphql's per-field
    // hook chain. What extensions would do runs once per request in `super::prepare`.
    schema_builder()
        .data(db.read)
        .data(Writer(db.write))
        .data(issuer)
        .data(rate_limits)
        .data(feeds)
        .data(webhooks)
        .data(bulk)
        .limit_recursive_depth(MAX_RECURSION)
        .finish()
}

/// The schema in SDL: what `schema.graphql` must contain.
pub fn schema_sdl() -> String {
    schema_builder().finish().sdl()
}
