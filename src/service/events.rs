//! This instance's doorbells: a committed change of a project's log wakes whoever reads that
//! project's log here ([`crate::events`]'s tails). A doorbell carries no event: readers read
//! the log by position, so a lost or duplicated ring costs latency, never an event.
//!
//! Rung by [`super::WriteTxn::commit`] after a transaction that wrote events commits (every
//! instance rings its own), and on PostgreSQL by the `LISTEN` task for other instances' commits.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use tokio::sync::watch;
use uuid::Uuid;

/// Project id → a counter bumped at each ring (watch receivers see "changed").
static BELLS: LazyLock<Mutex<HashMap<Uuid, watch::Sender<u64>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Bumped at every ring of any project (the webhook worker's wake-up).
static ANY: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// A receiver that sees each later ring of any project's doorbell (rings coalesce).
pub fn any_doorbell() -> watch::Receiver<u64> {
    ANY.subscribe()
}

/// A receiver that sees each later ring of `project`'s doorbell (rings coalesce).
pub fn doorbell(project: Uuid) -> watch::Receiver<u64> {
    let mut bells = BELLS.lock().unwrap_or_else(PoisonError::into_inner);
    bells
        .entry(project)
        .or_insert_with(|| watch::channel(0).0)
        .subscribe()
}

/// Rings `project`'s doorbell; forgets it when nobody listens any more.
pub fn ring(project: Uuid) {
    ANY.send_modify(|n| *n = n.wrapping_add(1));
    let mut bells = BELLS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(bell) = bells.get(&project) {
        if bell.receiver_count() == 0 {
            bells.remove(&project);
        } else {
            bell.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// Rings every doorbell (after the `LISTEN` connection was lost: notifications may be).
pub fn ring_all() {
    ANY.send_modify(|n| *n = n.wrapping_add(1));
    let mut bells = BELLS.lock().unwrap_or_else(PoisonError::into_inner);
    bells.retain(|_, bell| bell.receiver_count() > 0);
    for bell in bells.values() {
        bell.send_modify(|n| *n = n.wrapping_add(1));
    }
}
