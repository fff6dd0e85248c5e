//! The PostgreSQL `LISTEN` task: every commit that wrote events sends
//! `NOTIFY contact_events, '<project id>'` ([`crate::service::store::timeline::NOTIFY_CHANNEL`],
//! in the writer's transaction: delivered at commit, dropped on rollback); this task rings
//! that project's doorbell on this instance. sqlx's `PgListener` reconnects by itself; a
//! notification sent while it was away is lost, so after a reconnection every doorbell rings.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend};
use uuid::Uuid;

use crate::service::events::{ring, ring_all};
use crate::service::store::timeline::NOTIFY_CHANNEL;

/// Listens on `db`'s pool until aborted; nothing on SQLite (its writers are in this process:
/// [`crate::service::WriteTxn::commit`] rings their doorbells).
pub async fn run(db: DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    loop {
        let pool = db.get_postgres_connection_pool().clone();
        let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!("LISTEN {NOTIFY_CHANNEL}: connecting: {err}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(NOTIFY_CHANNEL).await {
            tracing::warn!("LISTEN {NOTIFY_CHANNEL}: {err}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Anything committed before LISTEN took effect: look once.
        ring_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => match Uuid::parse_str(note.payload()) {
                    Ok(project) => ring(project),
                    Err(_) => tracing::warn!("LISTEN {NOTIFY_CHANNEL}: a payload that is no id"),
                },
                // The connection was lost and is re-established by the next call.
                Ok(None) => ring_all(),
                Err(err) => {
                    tracing::warn!("LISTEN {NOTIFY_CHANNEL}: {err}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    ring_all();
                    break;
                }
            }
        }
    }
}
