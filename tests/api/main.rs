//! The integration suite: one binary, one module per feature. Every test that touches the
//! database runs twice, on SQLite and on PostgreSQL (see `support::db_test!`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod common;

mod attribute_filters;
mod attributes;
mod auth;
mod authz;
mod bulk;
mod companies;
mod concurrency;
mod contacts;
mod dataloader;
mod duplicates;
mod graphiql;
mod hardening;
mod harness;
mod http;
mod identity;
mod limits;
mod merge;
mod metrics;
mod nesting;
mod notes;
mod owners;
mod pagination;
mod ratelimit;
mod replicas;
mod scenario;
mod schema;
mod search;
mod segments;
mod serving;
mod shutdown;
mod subscriptions;
mod tenancy;
mod timeline;
mod validation;
mod webhooks;
