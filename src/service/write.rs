//! A use case's write transaction ([`WriteTxn`]) and its journal: the timeline events its
//! store calls recorded, written to the project's event log as the transaction's last
//! statement, so the project's `event_head` row (which keeps events committing in position
//! order) is locked only for that statement and the `COMMIT`, not for the whole use case.

use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
    TransactionTrait,
};
use uuid::Uuid;

use super::store::timeline::{self, Journaled};

/// What a transaction owes its commit: events to write, and the projects whose events it
/// already wrote (their doorbells ring after the commit).
#[derive(Default)]
struct Pending {
    events: Vec<Journaled>,
    written: Vec<Uuid>,
}

impl Pending {
    fn absorb(&mut self, child: Pending) {
        self.events.extend(child.events);
        timeline::add_unique(&mut self.written, child.written);
    }
}

type Journal = Arc<Mutex<Pending>>;

/// A write transaction: a SeaORM transaction (every [`ConnectionTrait`] call goes to it) plus
/// the events recorded in it and not yet written ([`timeline::record`] adds to it).
/// [`Self::commit`] writes them, commits and rings the doorbells; dropping it, or
/// [`Self::rollback`], rolls back and forgets them. A savepoint ([`Self::savepoint`]) keeps
/// its own events and hands them to its parent when it is released.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    journal: Journal,
    /// The enclosing transaction's journal, for a savepoint.
    parent: Option<Journal>,
}

fn lock(journal: &Journal) -> std::sync::MutexGuard<'_, Pending> {
    journal.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WriteTxn {
    /// Begins a write transaction on `db`. On SQLite it is `BEGIN IMMEDIATE`, so that a
    /// transaction that reads before it writes takes the write lock up front and waits (busy
    /// timeout) instead of failing with `SQLITE_BUSY` on the upgrade; on PostgreSQL a plain
    /// `BEGIN` (READ COMMITTED).
    pub async fn begin<C>(db: &C) -> Result<Self, DbErr>
    where
        C: TransactionTrait<Transaction = DatabaseTransaction>,
    {
        let txn = db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(Self {
            txn,
            journal: Journal::default(),
            parent: None,
        })
    }

    /// A savepoint inside this transaction: its events reach this transaction's journal when
    /// it commits (`RELEASE`), and are forgotten when it rolls back.
    pub async fn savepoint(&self) -> Result<WriteTxn, DbErr> {
        Ok(Self {
            txn: self.txn.begin().await?,
            journal: Journal::default(),
            parent: Some(self.journal.clone()),
        })
    }

    /// Adds `events` to the journal (written at commit, in the order recorded).
    pub(crate) fn journal(&self, events: impl IntoIterator<Item = Journaled>) {
        lock(&self.journal).events.extend(events);
    }

    /// Writes the journal now (one statement on PostgreSQL, two on SQLite, per project) and
    /// empties it; from then on the project's `event_head` row is locked until the end of
    /// the transaction. For a statement that must see this transaction's events (erasure
    /// scrubbing them). A savepoint writes its own events only.
    pub async fn write_journal(&self) -> Result<(), DbErr> {
        let events = std::mem::take(&mut lock(&self.journal).events);
        let projects = timeline::write(&self.txn, events).await?;
        timeline::add_unique(&mut lock(&self.journal).written, projects);
        Ok(())
    }

    /// Commits. A transaction writes its journal first, commits, then rings the doorbell of
    /// each project it wrote events for ([`super::events::ring`]); a savepoint is released
    /// and hands its journal to its parent.
    pub async fn commit(self) -> Result<(), DbErr> {
        if let Some(parent) = &self.parent {
            self.txn.commit().await?;
            let child = std::mem::take(&mut *lock(&self.journal));
            lock(parent).absorb(child);
            return Ok(());
        }
        self.write_journal().await?;
        let rings = std::mem::take(&mut lock(&self.journal).written);
        self.txn.commit().await?;
        for project in rings {
            super::events::ring(project);
        }
        Ok(())
    }

    /// Rolls back and forgets the journal.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}
