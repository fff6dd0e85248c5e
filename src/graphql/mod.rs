//! The GraphQL layer: thin resolvers over [`crate::service`], per-request loaders, Relay
//! connections. Resolvers read the caller ([`guards`]) and loaders from the context, call a
//! service function and map its result into an output type.

pub mod company_loaders;
pub mod guards;
pub mod inputs;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod nesting;
pub mod prepare;
pub mod query;
pub mod schema;
pub mod subscription;
pub mod types;
