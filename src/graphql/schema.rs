//! Schema construction: without data for SDL export, with data for serving.

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

use std::sync::Arc;

use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};

use super::limits::{QueryLimits, ShapeLimits};
use super::mutation::Mutation;
use super::query::Query;
use crate::auth::{Caller, IssuedToken, JwtKeys, Role};
use crate::error::AppResult;
use crate::ratelimit::{MutationRateLimit, RateLimits};

/// The executable schema type.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

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
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation::default(), EmptySubscription)
}

/// The executable schema over `db`, issuing tokens with `issuer`, refusing operations over
/// `limits` before any resolver runs.
pub fn build_schema(
    db: DatabaseConnection,
    issuer: TokenIssuer,
    limits: QueryLimits,
    rate_limits: Arc<RateLimits>,
) -> AppSchema {
    schema_builder()
        // First: measures the document's nesting before anything recursive parses it.
        .extension(super::nesting::NestingLimit)
        .data(db)
        .data(issuer)
        .data(rate_limits.clone())
        .extension(MutationRateLimit(rate_limits))
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(ShapeLimits(limits))
        // Records the executed operation's name for the metrics (`crate::metrics`).
        .extension(crate::metrics::OperationNames)
        // Automatic persisted queries, as Apollo Client sends them (sha256 hash in
        // `extensions.persistedQuery`), for POST and GET; 1,000 documents per process.
        .extension(ApolloPersistedQueries::new(LruCacheStorage::new(1000)))
        .finish()
}

/// The schema in SDL: what `schema.graphql` must contain.
pub fn schema_sdl() -> String {
    schema_builder().finish().sdl()
}
