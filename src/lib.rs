//! contacts-server: a GraphQL API for the Contacts (Leads) module of a live-chat / help-desk
//! product.
//!
//! Layers, outermost first: [`startup`] (assembly, serving), [`http`] (router, the GraphQL
//! handler, the accept loop), [`graphql`] (thin
//! resolvers, loaders, Relay connections), [`service`] (the domain, GraphQL-free, all SQL),
//! `entity` and `migration` (workspace crates). Errors are one registry: [`error`].

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod normalize;
pub mod ops;
pub mod ratelimit;
pub mod replicas;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod traces;
pub mod webhooks;

pub use config::Config;
pub use graphql::schema::{AppSchema, build_schema, schema_sdl};
pub use startup::Application;
