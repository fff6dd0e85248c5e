//! Live events for subscriptions: each project's log ([`crate::service::store::timeline`],
//! ordered by `position`) read once per instance by a *tail* and fanned out to that
//! instance's subscribers, who replay from the log whatever they missed.
//!
//! - [`Feeds::subscribe`]: the events of a project after a position, replayed from the log,
//!   then live; a subscriber that falls behind the fan-out (its bounded buffer overflows)
//!   reads the log again from its last position: memory stays bounded, nothing is lost.
//! - [`listen`]: on PostgreSQL, the `LISTEN` task that rings this instance's doorbells for
//!   commits of every instance (`NOTIFY` is sent in the writer's transaction).
//!
//! A tail wakes on its project's doorbell ([`crate::service::events`]) and, as a safety net,
//! every poll interval: a lost ring costs latency, never an event.

pub mod listen;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use async_graphql::futures_util::StreamExt;
use async_graphql::futures_util::stream::{self, BoxStream};
use entity::lead_event;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::service::ProjectScope;
use crate::service::store::timeline;

/// Events read from the log per statement (replay and tail).
const PAGE: u64 = 256;
/// Events a subscriber may fall behind the fan-out before it reads the log itself.
const FAN_OUT_BUFFER: usize = 1024;

/// One event of the log, shared between subscribers.
pub type Event = Arc<lead_event::Model>;

/// The project tails of this instance: one per project with subscribers.
pub struct Feeds {
    db: DatabaseConnection,
    poll: Duration,
    tails: Mutex<HashMap<Uuid, Weak<Tail>>>,
}

struct Tail {
    tx: broadcast::Sender<Event>,
}

impl Feeds {
    /// Feeds reading the log through `db`, each tail also polling every `poll`.
    pub fn new(db: DatabaseConnection, poll: Duration) -> Self {
        Self {
            db,
            poll,
            tails: Mutex::new(HashMap::new()),
        }
    }

    /// The tail of `scope`'s project, started when it has none.
    async fn tail(&self, scope: ProjectScope) -> Result<Arc<Tail>, DbErr> {
        if let Some(tail) = self.live_tail(scope) {
            return Ok(tail);
        }
        // The doorbell before the head: a commit between the two still rings.
        let bell = crate::service::events::doorbell(scope.project_id);
        let last = timeline::head(&self.db, scope).await?;
        let mut tails = self.tails.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tail) = tails.get(&scope.project_id).and_then(Weak::upgrade) {
            return Ok(tail);
        }
        tails.retain(|_, t| t.strong_count() > 0);
        let tail = Arc::new(Tail {
            tx: broadcast::channel(FAN_OUT_BUFFER).0,
        });
        tails.insert(scope.project_id, Arc::downgrade(&tail));
        tokio::spawn(run_tail(
            self.db.clone(),
            scope,
            Arc::downgrade(&tail),
            last,
            bell,
            self.poll,
        ));
        Ok(tail)
    }

    fn live_tail(&self, scope: ProjectScope) -> Option<Arc<Tail>> {
        let tails = self.tails.lock().unwrap_or_else(PoisonError::into_inner);
        tails.get(&scope.project_id).and_then(Weak::upgrade)
    }

    /// The events of `scope`'s log after position `after` (the log's head when `None`: only
    /// new ones) that `keep` accepts, oldest first, endless: first replayed from the log, then
    /// live. An item is `Err` when the log could not be read; the stream ends after it.
    pub async fn subscribe(
        &self,
        scope: ProjectScope,
        after: Option<i64>,
        keep: impl Fn(&lead_event::Model) -> bool + Send + Sync + 'static,
    ) -> Result<BoxStream<'static, Result<Event, DbErr>>, DbErr> {
        let tail = self.tail(scope).await?;
        // Subscribed before reading the log: whatever commits from now on reaches `rx`.
        let rx = tail.tx.subscribe();
        let position = match after {
            Some(p) => p,
            None => timeline::head(&self.db, scope).await?,
        };
        let state = Reader {
            db: self.db.clone(),
            scope,
            _tail: tail,
            rx,
            position,
            pending: VecDeque::new(),
            replaying: true,
            failed: false,
        };
        let keep = Arc::new(keep);
        Ok(stream::unfold(state, move |mut st| {
            let keep = keep.clone();
            async move {
                let item = st.next(&*keep).await?;
                Some((item, st))
            }
        })
        .boxed())
    }
}

/// One subscriber's place in the log.
struct Reader {
    db: DatabaseConnection,
    scope: ProjectScope,
    /// Keeps the project's tail running while this subscriber lives.
    _tail: Arc<Tail>,
    rx: broadcast::Receiver<Event>,
    /// The last position handed out (or skipped by the filter).
    position: i64,
    pending: VecDeque<Event>,
    /// Reading the log itself (at the start, after falling behind, after a gap).
    replaying: bool,
    failed: bool,
}

impl Reader {
    async fn next(
        &mut self,
        keep: &impl Fn(&lead_event::Model) -> bool,
    ) -> Option<Result<Event, DbErr>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                if event.position <= self.position {
                    continue;
                }
                self.position = event.position;
                if keep(&event) {
                    return Some(Ok(event));
                }
                continue;
            }
            if self.replaying {
                match timeline::after(&self.db, self.scope, self.position, PAGE).await {
                    Ok(rows) => {
                        self.replaying = rows.len() as u64 == PAGE;
                        self.pending.extend(rows.into_iter().map(Arc::new));
                    }
                    Err(err) => {
                        self.failed = true;
                        return Some(Err(err));
                    }
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(event) if event.position > self.position + 1 => {
                    // Something between is missing here (never expected): the log has it.
                    self.replaying = true;
                }
                Ok(event) => self.pending.push_back(event),
                Err(broadcast::error::RecvError::Lagged(_)) => self.replaying = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// A project's tail: reads the log after `last` at each ring (and every `poll`) and sends
/// each event to the subscribers; ends when the last subscriber is gone.
async fn run_tail(
    db: DatabaseConnection,
    scope: ProjectScope,
    tail: Weak<Tail>,
    mut last: i64,
    mut bell: tokio::sync::watch::Receiver<u64>,
    poll: Duration,
) {
    loop {
        tokio::select! {
            rung = bell.changed() => if rung.is_err() { return },
            () = tokio::time::sleep(poll) => {}
        }
        let Some(tail) = tail.upgrade() else { return };
        loop {
            match timeline::after(&db, scope, last, PAGE).await {
                Ok(rows) => {
                    let full = rows.len() as u64 == PAGE;
                    for row in rows {
                        last = row.position;
                        // No receiver right now is fine: subscribers replay from the log.
                        let _ = tail.tx.send(Arc::new(row));
                    }
                    if !full {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(project = %scope.project_id, "reading the event log: {err}");
                    break;
                }
            }
        }
    }
}
