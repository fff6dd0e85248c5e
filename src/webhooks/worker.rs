//! The delivery loop. Each instance has one worker with a random owner id. It claims due
//! endpoints (at most [`CONCURRENCY`] in flight), and for each claimed one, in that endpoint's
//! project scope: reads the log after the endpoint's cursor, skips (and passes) the types it
//! did not subscribe to, POSTs the next event, and on a 2xx moves the cursor and renews the
//! lease; on a failure records it, counts it, schedules the next attempt after the backoff
//! (or disables the endpoint after `WEBHOOK_MAX_FAILURES`) and lets the endpoint go.
//! Every attempt is recorded in `webhook_delivery` (status, error, timing; never the payload).

use std::time::Duration;

use chrono::Utc;
use entity::{webhook, webhook_delivery};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::Settings;
use super::send;
use crate::service::store::{timeline, webhooks as store};
use crate::service::webhooks::{self as rules, WebhookEventType};
use crate::service::{ProjectScope, now};

/// Endpoints delivered to at once by one instance.
pub const CONCURRENCY: usize = 16;

/// How long the worker waits after a doorbell ring before claiming, so that a burst of
/// commits costs one claim.
const WAKE_COALESCE: Duration = Duration::from_millis(10);

/// Events read from the log per statement.
const PAGE: u64 = 100;

/// Deliveries to one endpoint per claim, before it is released (so other instances and
/// endpoints get their turn).
const PER_CLAIM: usize = 500;

/// A running worker.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    db: DatabaseConnection,
    own_db: bool,
}

/// What every endpoint task shares.
#[derive(Clone)]
struct Ctx {
    db: DatabaseConnection,
    client: reqwest::Client,
    settings: Settings,
    owner: Uuid,
}

/// Starts the worker over `db` (`own_db`: a pool of its own, closed by [`Worker::stop`]).
/// Errors: the HTTP client's, when TLS cannot start.
pub fn spawn(db: DatabaseConnection, own_db: bool, settings: Settings) -> reqwest::Result<Worker> {
    let ctx = Ctx {
        db: db.clone(),
        client: send::client(&settings)?,
        settings,
        owner: Uuid::new_v4(),
    };
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(ctx, stopped));
    Ok(Worker {
        stop,
        task,
        db,
        own_db,
    })
}

impl Worker {
    /// Stops claiming, gives in-flight deliveries up to `grace` to finish (then abandons them:
    /// their leases expire and the events are delivered again, at least once), and closes the
    /// worker's own pool.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
        if self.own_db
            && let Err(err) = self.db.close().await
        {
            tracing::warn!("closing the webhook worker's pool: {err}");
        }
    }
}

async fn run(ctx: Ctx, mut stopped: watch::Receiver<bool>) {
    let mut doorbell = crate::service::events::any_doorbell();
    let mut tasks: JoinSet<()> = JoinSet::new();
    loop {
        if *stopped.borrow() {
            break;
        }
        let room = CONCURRENCY.saturating_sub(tasks.len());
        let mut claimed_full = false;
        if room > 0 {
            let at = now();
            let lease_until = at + lease(&ctx.settings);
            match store::claim_due(&ctx.db, ctx.owner, at, lease_until, room as u64).await {
                Ok(hooks) => {
                    claimed_full = hooks.len() == room;
                    for hook in hooks {
                        let ctx = ctx.clone();
                        tasks.spawn(async move {
                            let id = hook.id;
                            if let Err(err) = serve(&ctx, hook).await {
                                tracing::warn!(webhook = %id, "webhook delivery: {err}");
                            }
                        });
                    }
                }
                Err(err) => tracing::warn!("claiming due webhooks: {err}"),
            }
        }
        if claimed_full && tasks.len() < CONCURRENCY {
            continue;
        }
        tokio::select! {
            _ = stopped.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            changed = doorbell.changed() => {
                // Coalesce a burst of commits into one claim.
                tokio::time::sleep(WAKE_COALESCE).await;
                doorbell.borrow_and_update();
                if changed.is_err() {
                    tokio::time::sleep(ctx.settings.poll_interval).await;
                }
            }
            _ = tokio::time::sleep(ctx.settings.poll_interval) => {}
        }
    }
    // Let in-flight attempts finish (Worker::stop bounds the wait).
    while tasks.join_next().await.is_some() {}
}

fn lease(settings: &Settings) -> chrono::Duration {
    chrono::Duration::from_std(settings.lease()).unwrap_or(chrono::Duration::seconds(60))
}

/// Delivers to one claimed endpoint until its log is drained, an attempt fails, the lease
/// is lost or [`PER_CLAIM`] deliveries were made. Errors: the database's (the lease then
/// expires and the endpoint is claimed again).
async fn serve(ctx: &Ctx, hook: webhook::Model) -> Result<(), DbErr> {
    let scope = ProjectScope::verified(hook.project_id);
    let wanted = rules::subscribed(&hook);
    let mut position = hook.delivered_position;
    let mut delivered = 0;
    let mut attempted = false;
    // Failed attempts since the last success (the next attempt's number is one more).
    let mut streak = hook.consecutive_failures;
    'log: loop {
        let events = timeline::after(&ctx.db, scope, position, PAGE).await?;
        if events.is_empty() {
            break;
        }
        for event in events {
            let Some(ty) = WebhookEventType::of_kind(event.kind).filter(|t| wanted.contains(t))
            else {
                position = event.position;
                continue;
            };
            let body = rules::payload(&event, ty).to_string();
            let attempt = send::send(
                &ctx.client,
                &ctx.settings,
                &hook.url,
                &hook.secret,
                &rules::message_id(&event),
                body,
            )
            .await;
            attempted = true;
            let failures = streak.saturating_add(1);
            store::insert_delivery(
                &ctx.db,
                webhook_delivery::Model {
                    id: Uuid::new_v4(),
                    project_id: scope.project_id,
                    webhook_id: hook.id,
                    position: event.position,
                    event_type: ty.name().to_owned(),
                    attempt: failures,
                    status_code: attempt.status.map(i32::from),
                    error: attempt.error.clone(),
                    duration_ms: i64::try_from(attempt.duration.as_millis()).unwrap_or(i64::MAX),
                    delivered_at: now(),
                },
            )
            .await?;
            if attempt.ok() {
                position = event.position;
                let lease_until = now() + lease(&ctx.settings);
                if !store::advance(&ctx.db, scope, hook.id, ctx.owner, position, lease_until)
                    .await?
                {
                    tracing::warn!(webhook = %hook.id, "lost the lease while delivering");
                    return Ok(());
                }
                delivered += 1;
                streak = 0;
                if delivered >= PER_CLAIM {
                    break 'log;
                }
                continue;
            }
            let disable = u32::try_from(failures).unwrap_or(u32::MAX) >= ctx.settings.max_failures;
            let wait = rules::backoff(
                ctx.settings.backoff_base,
                ctx.settings.backoff_cap,
                u32::try_from(failures).unwrap_or(u32::MAX),
                &mut rand::thread_rng(),
            );
            let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            let reason = disable.then(|| {
                format!(
                    "disabled after {failures} consecutive failed attempts (last: {})",
                    attempt.error.as_deref().unwrap_or("failed")
                )
            });
            tracing::info!(webhook = %hook.id, failures, error = ?attempt.error, "webhook attempt failed");
            store::fail(
                &ctx.db, scope, hook.id, ctx.owner, position, failures, next, reason,
            )
            .await?;
            prune(ctx, scope, &hook).await?;
            return Ok(());
        }
    }
    store::release(&ctx.db, scope, hook.id, ctx.owner, position).await?;
    if attempted {
        prune(ctx, scope, &hook).await?;
    }
    Ok(())
}

async fn prune(ctx: &Ctx, scope: ProjectScope, hook: &webhook::Model) -> Result<(), DbErr> {
    store::prune_deliveries(
        &ctx.db,
        scope,
        hook.id,
        u64::from(ctx.settings.deliveries_kept),
    )
    .await
}
