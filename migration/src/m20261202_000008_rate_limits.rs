//! Rate-limit budgets shared by every server instance over one PostgreSQL database
//! (`RATE_LIMIT_STORE=postgres`): `rate_limit_bucket(key, tat)`, one row per limited key (a
//! SHA-256 of the limit's name and the IP, email or user: no address or email is stored in
//! clear) holding its GCRA "theoretical arrival time". Rows whose `tat` has passed are whole
//! budgets again and are deleted by the servers' pruning.
//!
//! On PostgreSQL the table is `UNLOGGED`: not written to the WAL (cheaper; not replicated),
//! emptied after a crash, which only forgives the budgets spent in the last minute. SQLite
//! gets an ordinary table of the same shape (its limits count in process memory).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum RateLimitBucket {
    Table,
    Key,
    Tat,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "CREATE UNLOGGED TABLE rate_limit_bucket (key bytea PRIMARY KEY, \
                 tat timestamptz NOT NULL)",
            )
            .await?;
            return Ok(());
        }
        manager
            .create_table(
                Table::create()
                    .table(RateLimitBucket::Table)
                    .col(
                        ColumnDef::new(RateLimitBucket::Key)
                            .binary()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RateLimitBucket::Tat)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RateLimitBucket::Table).to_owned())
            .await
    }
}
