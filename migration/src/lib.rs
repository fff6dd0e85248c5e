//! SeaORM migrator of contacts-server.
//!
//! [`Migrator`] lists every migration in order; `Migrator::up(&db, None)` brings a SQLite or
//! PostgreSQL database to the current schema, `Migrator::down` reverts. Each migration file is
//! named `mYYYYMMDD_HHMMSS_name.rs` and has a real `down`.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_create_tables;
mod m20261129_000002_contact_management;
mod m20261129_000003_merge_identity_timeline;
mod m20261201_000004_visitor_project;
mod m20261202_000005_search_by_project;
mod m20261202_000006_event_log;
mod m20261202_000007_webhooks;
mod m20261202_000008_rate_limits;
mod m20261204_000009_notes_and_owners;
mod m20261207_000010_companies;
mod m20261207_000011_contact_attributes;
mod m20261207_000012_segments_and_bulk_jobs;
mod m20261207_000013_search_walk_index;

/// The ordered list of this project's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_tables::Migration),
            Box::new(m20261129_000002_contact_management::Migration),
            Box::new(m20261129_000003_merge_identity_timeline::Migration),
            Box::new(m20261201_000004_visitor_project::Migration),
            Box::new(m20261202_000005_search_by_project::Migration),
            Box::new(m20261202_000006_event_log::Migration),
            Box::new(m20261202_000007_webhooks::Migration),
            Box::new(m20261202_000008_rate_limits::Migration),
            Box::new(m20261204_000009_notes_and_owners::Migration),
            Box::new(m20261207_000010_companies::Migration),
            Box::new(m20261207_000011_contact_attributes::Migration),
            Box::new(m20261207_000012_segments_and_bulk_jobs::Migration),
            Box::new(m20261207_000013_search_walk_index::Migration),
        ]
    }
}
