//! The subscription root, over WebSocket at `/graphql` ([`crate::http`]'s `ws`): live events
//! from the project's event log, replayed from a position and then live
//! ([`crate::events::Feeds`]). Thin: the guard, the arguments, the feed, the mapping.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::futures_util::{Stream, StreamExt};
use async_graphql::{Context, ID, Subscription};
use entity::lead_event::{self, EventKind};

use super::guards;
use super::types::enums::ContactEventKind;
use super::types::timeline::ContactEvent;
use super::types::visitor_event::VisitorEvent;
use crate::error::{AppError, AppResult};
use crate::events::Feeds;

/// How many subscriptions one WebSocket connection may hold at once (connection data, set
/// by the WebSocket handler from `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`).
#[derive(Clone, Debug)]
pub struct SubscriptionBudget {
    live: Arc<AtomicUsize>,
    max: usize,
}

impl SubscriptionBudget {
    /// A budget of `max` live subscriptions.
    pub fn new(max: usize) -> Self {
        Self {
            live: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// One more subscription, held until the returned guard drops. Errors:
    /// `TOO_MANY_SUBSCRIPTIONS` when `max` are live.
    fn take(&self) -> AppResult<Held> {
        let before = self.live.fetch_add(1, Ordering::SeqCst);
        let held = Held(self.live.clone());
        if before >= self.max {
            return Err(AppError::TooManySubscriptions(self.max));
        }
        Ok(held)
    }
}

/// A live subscription's place in its connection's budget.
struct Held(Arc<AtomicUsize>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A position of the event log, from `ContactEvent.position` (decimal digits).
fn parse_position(after: Option<String>) -> AppResult<Option<i64>> {
    after
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .ok()
                .filter(|p| *p >= 0)
                .ok_or_else(|| {
                    AppError::bad_input("after", "`after` is a `position` of an earlier event")
                })
        })
        .transpose()
}

fn budget(ctx: &Context<'_>) -> AppResult<Option<Held>> {
    ctx.data_opt::<SubscriptionBudget>()
        .map(SubscriptionBudget::take)
        .transpose()
}

/// The events of `scope`'s log after `after` that `keep` accepts, each wrapped by `wrap`,
/// holding `held` (the connection's budget slot) while the stream lives. Errors: `INTERNAL`
/// when the schema has no feeds or the log cannot be read.
async fn feed<T, K>(
    ctx: &Context<'_>,
    scope: crate::service::ProjectScope,
    after: Option<i64>,
    held: Option<Held>,
    keep: K,
    wrap: fn(lead_event::Model) -> T,
) -> Result<impl Stream<Item = async_graphql::Result<T>> + use<T, K>, AppError>
where
    K: Fn(&lead_event::Model) -> bool + Send + Sync + 'static,
{
    let feeds = ctx
        .data::<Arc<Feeds>>()
        .map_err(|_| AppError::internal("no event feeds in the schema data"))?;
    let events = feeds.subscribe(scope, after, keep).await?;
    Ok(events.map(move |item| {
        let _held = &held;
        item.map(|e| wrap(Arc::unwrap_or_clone(e)))
            .map_err(|e| AppError::from(e).into())
    }))
}

/// The subscription root.
#[derive(Default)]
pub struct Subscription;

/// The root subscription type: live events over WebSocket at `/graphql`
/// (`graphql-transport-ws` or the legacy `graphql-ws`; the token in `connection_init`).
#[Subscription]
impl Subscription {
    /// Agents: the events of their project's contacts, oldest first: those after `after` (a
    /// `position` from an earlier event: a client that reconnects with its last position
    /// misses nothing and gets nothing twice), then each new one as it commits, on any
    /// instance. Without `after`, only new events. `kinds` and `contactId` narrow it down.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitors: `visitorEvents`), `BAD_USER_INPUT`
    /// (`after`, `contactId`), `TOO_MANY_SUBSCRIPTIONS` (the connection's cap).
    async fn contact_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these kinds (all when absent).")] kinds: Option<
            Vec<ContactEventKind>,
        >,
        #[graphql(desc = "Only this contact's events.")] contact_id: Option<ID>,
        #[graphql(
            desc = "Replay from the log every event after this `position` (decimal digits), then go live; only new events when absent."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = async_graphql::Result<ContactEvent>> + use<>, AppError> {
        let (_, scope) = guards::require_agent(ctx)?;
        let after = parse_position(after)?;
        let contact = contact_id
            .map(|id| {
                uuid::Uuid::parse_str(&id)
                    .map_err(|_| AppError::bad_input("contactId", "not a contact id"))
            })
            .transpose()?;
        let kinds: Option<Vec<EventKind>> =
            kinds.map(|k| k.into_iter().map(EventKind::from).collect());
        let held = budget(ctx)?;
        let keep = move |e: &lead_event::Model| {
            contact.is_none_or(|c| c == e.lead)
                && kinds.as_ref().is_none_or(|k| k.contains(&e.kind))
        };
        feed(ctx, scope, after, held, keep, ContactEvent).await
    }

    /// Visitors: the requests opened by this visitor (on any of its devices signed in as the
    /// same user), oldest first, after `after` (a `position`), then live. Nothing else of the
    /// project reaches a visitor: no agent's change, no other visitor's request.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (agents: `contactEvents`), `BAD_USER_INPUT`
    /// (`after`), `TOO_MANY_SUBSCRIPTIONS`.
    async fn visitor_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Replay every own event after this `position` (decimal digits), then go live; only new events when absent."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = async_graphql::Result<VisitorEvent>> + use<>, AppError> {
        let (caller, scope) = guards::require_visitor(ctx)?;
        let after = parse_position(after)?;
        let held = budget(ctx)?;
        let visitor = caller.user_id;
        let keep = move |e: &lead_event::Model| {
            e.kind == EventKind::RequestCreated && e.actor_id == Some(visitor)
        };
        feed(ctx, scope, after, held, keep, VisitorEvent).await
    }
}
