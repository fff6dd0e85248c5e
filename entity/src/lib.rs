//! SeaORM entities of contacts-server, one module per table, matching `migration/`.
//!
//! The database and these entities say `lead`; the GraphQL API calls the same record a
//! `Contact` (the product's UI word). Every table except `user` carries a `project_id`: the
//! tenant scope that every query in `contacts-server`'s service layer filters on.

pub mod bulk_job;
pub mod company;
pub mod contact_attribute;
pub mod contact_note;
pub mod lead;
pub mod lead_event;
pub mod lead_merge;
pub mod project;
pub mod project_member;
pub mod request;
pub mod segment;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
