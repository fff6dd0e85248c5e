//! PostgreSQL read replicas with read-your-writes (`DATABASE_REPLICA_URLS`).
//!
//! Queries are served by a streaming replica, mutations by the primary. After a mutation the
//! HTTP layer asks the primary for its WAL insert position ([`Replicas::token`]) and returns
//! it as the *consistency token*; a query sending it back is served only by a replica whose
//! replay position has reached it ([`Replicas::reader`]), else by the primary. So a client
//! reads its own writes, while other reads spread over the replicas.
//!
//! Nothing is asked per request: a background task ([`Replicas::poll_every`]) reads each
//! replica's `pg_last_wal_replay_lsn()` and the primary's `pg_current_wal_insert_lsn()`
//! every `REPLICA_POLL_MS`. A replica's known position is therefore at most one interval old,
//! and only ever behind its real one (safe: a read it could have served goes to the primary).
//! A replica that does not answer is down; one whose replay is more than `REPLICA_MAX_LAG_MS`
//! behind the primary is skipped. Subscriptions, webhooks and every write use the primary
//! (`LISTEN` does not work on a replica; PostgreSQL docs, "Hot Standby").

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::config::Config;

/// A PostgreSQL WAL position (`pg_lsn`, written `X/Y` in hexadecimal: the high and low 32
/// bits), the form of the consistency token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

/// A consistency token that is not a WAL position (`X/Y`, hexadecimal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a consistency token is a WAL position such as 0/16B3748")]
pub struct BadLsn;

impl FromStr for Lsn {
    type Err = BadLsn;

    fn from_str(s: &str) -> Result<Self, BadLsn> {
        let (hi, lo) = s.trim().split_once('/').ok_or(BadLsn)?;
        let part = |p: &str| {
            if p.is_empty() || p.len() > 8 {
                return Err(BadLsn);
            }
            u32::from_str_radix(p, 16).map_err(|_| BadLsn)
        };
        Ok(Self((u64::from(part(hi)?) << 32) | u64::from(part(lo)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// What the poller last saw of one replica.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    /// Whether a poll has looked yet.
    polled: bool,
    up: bool,
    replay: Lsn,
    lag: Duration,
}

/// A replica the last poll could not use.
const DOWN: Seen = Seen {
    polled: true,
    up: false,
    replay: Lsn(0),
    lag: Duration::ZERO,
};

struct Replica {
    name: String,
    conn: DatabaseConnection,
    seen: Mutex<Seen>,
}

/// One database of `/ready`'s report.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    /// `primary`, or `replica-N` (N counts `DATABASE_REPLICA_URLS` from 1).
    pub name: String,
    /// Whether it answered its last check.
    pub up: bool,
    /// Replicas: how far behind the primary its replay was, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_ms: Option<u64>,
}

/// The replicas of one server, and the primary they follow.
pub struct Replicas {
    primary: DatabaseConnection,
    replicas: Vec<Replica>,
    max_lag: Duration,
    /// The primary's recent WAL positions, oldest first (a replica's lag is read off them).
    history: Mutex<VecDeque<(Instant, Lsn)>>,
    history_len: usize,
    next: AtomicUsize,
}

/// Where a query is served: the handle and its name (`primary`, `replica-N`).
pub struct Reader<'a> {
    /// The connection pool to read from.
    pub conn: &'a DatabaseConnection,
    /// Its name, as `/ready` and the `x-read-from` response header give it.
    pub name: &'a str,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const PRIMARY: &str = "primary";

impl Replicas {
    /// Lazily connected pools (a replica that is down at start does not stop the server) to
    /// each of `config.database_replica_urls`, following `primary`; `None` when there are no
    /// replicas. Errors: the driver's, for a URL it cannot parse; `DbErr::Custom` for a
    /// replica URL that is not PostgreSQL.
    pub async fn connect(
        config: &Config,
        primary: DatabaseConnection,
    ) -> Result<Option<Self>, DbErr> {
        let urls: Vec<&String> = config
            .database_replica_urls
            .iter()
            .filter(|u| !u.trim().is_empty())
            .collect();
        if urls.is_empty() {
            return Ok(None);
        }
        if primary.get_database_backend() != DbBackend::Postgres {
            return Err(DbErr::Custom(
                "DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL".into(),
            ));
        }
        let mut replicas = Vec::with_capacity(urls.len());
        for (i, url) in urls.into_iter().enumerate() {
            if !url.starts_with("postgres") {
                return Err(DbErr::Custom(format!(
                    "DATABASE_REPLICA_URLS: replica {} is not a postgres:// URL",
                    i + 1
                )));
            }
            replicas.push(Replica {
                name: format!("replica-{}", i + 1),
                conn: crate::db::connect_lazy_postgres(config, url).await?,
                seen: Mutex::new(Seen::default()),
            });
        }
        let max_lag = Duration::from_millis(config.replica_max_lag_ms);
        let poll = config.replica_poll_ms.max(10);
        // Twice the lag limit: a lag is measured exactly up to that, as "at least" beyond.
        let history_len = usize::try_from(2 * config.replica_max_lag_ms / poll + 2)
            .unwrap_or(usize::MAX)
            .min(10_000);
        Ok(Some(Self {
            primary,
            replicas,
            max_lag,
            history: Mutex::new(VecDeque::with_capacity(history_len)),
            history_len,
            next: AtomicUsize::new(0),
        }))
    }

    /// Where to serve a query that sent `token` (or none): a replica that is up, within the
    /// lag limit and (with a token) has replayed it, taken in turn; else the primary.
    pub fn reader(&self, token: Option<Lsn>) -> Reader<'_> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let replica = &self.replicas[(start + i) % n];
            let seen = *lock(&replica.seen);
            if seen.up && seen.lag <= self.max_lag && token.is_none_or(|t| seen.replay >= t) {
                return Reader {
                    conn: &replica.conn,
                    name: &replica.name,
                };
            }
        }
        Reader {
            conn: &self.primary,
            name: PRIMARY,
        }
    }

    /// The consistency token of the writes committed so far: the primary's WAL insert
    /// position (past every commit record already written). One statement. Errors: the
    /// driver's.
    pub async fn token(&self) -> Result<Lsn, DbErr> {
        wal_position(&self.primary, "pg_current_wal_insert_lsn()")
            .await?
            .ok_or_else(|| DbErr::Custom("the primary has no WAL position".into()))
    }

    /// The databases for `/ready`: the primary (`primary_up`, checked by the caller) and each
    /// replica as last seen.
    pub fn status(&self, primary_up: bool) -> Vec<DatabaseStatus> {
        let mut all = vec![DatabaseStatus {
            name: PRIMARY.into(),
            up: primary_up,
            lag_ms: None,
        }];
        all.extend(self.replicas.iter().map(|r| {
            let seen = *lock(&r.seen);
            DatabaseStatus {
                name: r.name.clone(),
                up: seen.up,
                lag_ms: Some(u64::try_from(seen.lag.as_millis()).unwrap_or(u64::MAX)),
            }
        }));
        all
    }

    /// Reads the positions once: the primary's (kept in the history), then each replica's
    /// replay position and lag. A check that fails or takes longer than `timeout` marks the
    /// replica down (a database that is not in recovery, too: it is no replica).
    pub async fn poll(&self, timeout: Duration) {
        let now = Instant::now();
        let primary = tokio::time::timeout(
            timeout,
            wal_position(&self.primary, "pg_current_wal_insert_lsn()"),
        )
        .await;
        if let Ok(Ok(Some(lsn))) = primary {
            let mut history = lock(&self.history);
            if history.len() == self.history_len {
                history.pop_front();
            }
            history.push_back((now, lsn));
        }
        for replica in &self.replicas {
            let replay = tokio::time::timeout(
                timeout,
                wal_position(&replica.conn, "pg_last_wal_replay_lsn()"),
            )
            .await;
            let (seen, why) = match replay {
                Ok(Ok(Some(replay))) => (
                    Seen {
                        polled: true,
                        up: true,
                        replay,
                        lag: self.lag_of(replay, now),
                    },
                    String::new(),
                ),
                Ok(Ok(None)) => (DOWN, "not in recovery: no replica".to_owned()),
                Ok(Err(err)) => (DOWN, err.to_string()),
                Err(_) => (DOWN, "no answer in time".to_owned()),
            };
            let mut last = lock(&replica.seen);
            if last.up != seen.up || !last.polled {
                match seen.up {
                    true => tracing::info!("{} is up", replica.name),
                    false => tracing::warn!("{} is down: {why}", replica.name),
                }
            }
            *last = seen;
        }
    }

    /// How long ago the primary was last at a position the replay has not reached: zero when
    /// it has reached the newest one known; at least the history's span when it has reached
    /// none.
    fn lag_of(&self, replay: Lsn, now: Instant) -> Duration {
        let history = lock(&self.history);
        match history.iter().find(|(_, lsn)| *lsn > replay) {
            None => Duration::ZERO,
            Some((at, _)) => now.saturating_duration_since(*at),
        }
    }

    /// Polls every `interval`, forever (the server spawns it and aborts it at shutdown).
    pub async fn poll_every(self: Arc<Self>, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let timeout = interval.max(Duration::from_secs(1));
        loop {
            ticks.tick().await;
            self.poll(timeout).await;
        }
    }
}

/// `SELECT <function>::text` on `db`, parsed: `None` when it is NULL (e.g. the replay position
/// of a database that is not in recovery). Errors: the driver's, or a value that is no LSN.
async fn wal_position(db: &DatabaseConnection, function: &str) -> Result<Option<Lsn>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT {function}::text AS lsn"),
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    row.try_get::<Option<String>>("", "lsn")?
        .map(|text| {
            text.parse()
                .map_err(|e: BadLsn| DbErr::Custom(e.to_string()))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lsn_round_trip_and_order() {
        let a: Lsn = "0/16B3748".parse().unwrap();
        assert_eq!(a, Lsn(0x16B_3748));
        assert_eq!(a.to_string(), "0/16B3748");
        let b: Lsn = "1/0".parse().unwrap();
        assert_eq!(b, Lsn(1 << 32));
        assert!(b > a);
        assert_eq!("FFFFFFFF/FFFFFFFF".parse::<Lsn>().unwrap(), Lsn(u64::MAX));
        for bad in ["", "0", "/1", "1/", "x/1", "1/2/3", "123456789/0", "-1/0"] {
            assert_eq!(bad.parse::<Lsn>(), Err(BadLsn), "{bad}");
        }
    }
}
