//! The shared store of [`super::RateLimits`]: PostgreSQL's `rate_limit_bucket` table
//! (migration 8, `UNLOGGED`), a GCRA (the generic cell rate algorithm, as `governor` and
//! `redis-cell` use) in one statement per check, timed by the database's clock so instances'
//! clocks need not agree.
//!
//! A row holds a key's theoretical arrival time `tat`; spending `cost` cells of a budget of
//! `n` per minute moves it to `max(tat, now) + cost × 60 s / n`, allowed while that stays
//! within a minute of now. The upsert's row lock orders concurrent checks of one key, across
//! instances alike.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use sha2::{Digest, Sha256};

use super::Limit;

/// Spends `cost` cells of `limit`'s `per_minute` budget for `key`: `Ok(Err(wait))` when they
/// are not there (nothing is spent), with the time until they are. One statement. Errors: the
/// driver's.
pub async fn check(
    db: &DatabaseConnection,
    limit: Limit,
    key: &str,
    per_minute: u32,
    cost: u32,
) -> Result<Result<(), Duration>, DbErr> {
    const SPEND: &str = "WITH prev AS (SELECT tat FROM rate_limit_bucket WHERE key = $1), \
        spent AS (INSERT INTO rate_limit_bucket AS b (key, tat) \
          VALUES ($1, clock_timestamp() + $2::float8 * interval '1 microsecond') \
          ON CONFLICT (key) DO UPDATE \
          SET tat = GREATEST(b.tat, clock_timestamp()) + $2::float8 * interval '1 microsecond' \
          WHERE GREATEST(b.tat, clock_timestamp()) + $2::float8 * interval '1 microsecond' \
            <= clock_timestamp() + interval '1 minute' \
          RETURNING 1) \
        SELECT EXISTS (SELECT 1 FROM spent) AS allowed, \
          (EXTRACT(EPOCH FROM (SELECT tat FROM prev) + $2::float8 * interval '1 microsecond' \
            - interval '1 minute' - clock_timestamp()) * 1000000)::bigint AS wait_us";
    let increment_us = i64::from(cost) * 60_000_000 / i64::from(per_minute.max(1));
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            SPEND,
            [bucket_key(limit, key).into(), increment_us.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("rate limit verdict".into()))?;
    if row.try_get::<bool>("", "allowed")? {
        return Ok(Ok(()));
    }
    let wait_us = row.try_get::<Option<i64>>("", "wait_us")?.unwrap_or(0);
    Ok(Err(Duration::from_micros(
        u64::try_from(wait_us).unwrap_or(0).max(1),
    )))
}

/// Deletes the rows whose budget is whole again (`tat` passed). Errors: the driver's.
pub async fn prune(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let done = db
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "DELETE FROM rate_limit_bucket WHERE tat < clock_timestamp()",
        ))
        .await?;
    Ok(done.rows_affected())
}

/// The stored key: SHA-256 of the limit's name and the key, so no IP address or email is kept
/// in clear.
fn bucket_key(limit: Limit, key: &str) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(limit.name().as_bytes());
    hash.update(b":");
    hash.update(key.as_bytes());
    hash.finalize().to_vec()
}
