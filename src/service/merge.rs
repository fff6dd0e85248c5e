//! Merging contacts (one person, one contact), with a preview before and an exact undo
//! after: the use cases, each in its own write transaction. What a merge produces is
//! `merge_plan` (pure); the rows it writes and restores are `store::merges`.
//!
//! Merging secondaries S₁…Sₙ into a primary P (all of one project), in one transaction:
//! - every Request of the secondaries moves to P;
//! - each text field keeps P's value when non-empty, else the first non-empty value of the
//!   secondaries in the order given; a field choice (`field` ← contact) overrides;
//! - attributes merge key by key (P wins, then the secondaries in order fill missing keys;
//!   a non-null value that fits the key's typed definition is preferred, `merge_plan`);
//!   tags are the union; emails that differ from the surviving one (case-insensitively) are
//!   kept in `additional_emails`;
//! - each secondary becomes a tombstone: status MERGED, `merged_into` = P, its fields kept;
//!   tombstones that pointed at a secondary now point at P (so every tombstone is one hop
//!   from its survivor); a visitor keyed by a tombstone lands on P from then on;
//! - the journal (`lead_merge`) keeps every involved row as it was, the moved Requests and the
//!   re-pointed tombstones: [`unmerge`] restores them exactly.

use entity::lead;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::merge_plan::{self as plan, blockers, check_shape, involved, unique_secondaries};
pub use super::merge_plan::{
    AttributeConflict, BlockReason, Blocker, ExpectedVersion, FieldChoice, FieldOutcome,
    MAX_ADDITIONAL_EMAILS, MAX_SECONDARIES, MergeInput, MergeOrigin, Plan, Preview,
    check_secondary_count,
};

use super::store::{attribute_defs, leads, merges, requests};
use super::{Database, ProjectScope, begin_write};
use crate::error::AppResult;

/// Shows what [`merge`] would do, without writing: blockers, the surviving value of each field
/// with its source and conflicts, what moves. Reads the project's attribute definitions (a
/// merge prefers attribute values that fit them: `merge_plan::plan`). Errors: `BAD_USER_INPUT` (`secondaryIds`
/// empty or over [`MAX_SECONDARIES`]); everything else is a blocker in the result.
pub async fn preview(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    input: &MergeInput,
) -> AppResult<Preview> {
    check_shape(input)?;
    let ids = involved(input);
    let found = leads::load_many(db, scope, &ids, false).await?;
    let rules = attribute_defs::rules(db, scope).await?;
    let mut blockers = blockers(input, &found);
    let secondary_ids = unique_secondaries(input);
    let mut plan_out = None;
    if let Some(primary) = found.get(&input.primary_id) {
        let secondaries: Vec<&lead::Model> = secondary_ids
            .iter()
            .filter_map(|id| found.get(id))
            .collect();
        match plan::plan(primary, &secondaries, &input.field_choices, &rules) {
            Ok(p) => plan_out = Some(p),
            Err(b) => blockers.push(b),
        }
    }
    let counts = requests::counts_for_leads(db, scope, &secondary_ids, None).await?;
    // Primary first, each contact once.
    let contacts = std::iter::once(&input.primary_id)
        .chain(&secondary_ids)
        .filter_map(|id| found.get(id).cloned())
        .collect();
    Ok(Preview {
        blockers,
        plan: plan_out,
        requests_to_move: counts.values().sum(),
        contacts,
    })
}

/// Merges `input.secondary_ids` into `input.primary_id` in one write transaction and journals
/// it. Returns the surviving contact and the merge id. Errors: `BAD_USER_INPUT`
/// (`secondaryIds` count; blockers SELF_MERGE, DUPLICATE_ID, INVALID_FIELD_CHOICE,
/// TOO_LARGE), `NOT_FOUND` (blocker NOT_FOUND), `CONFLICT` (blockers DELETED, ERASED,
/// ALREADY_MERGED, IDENTIFIED_CONFLICT; a stale expected version). The blocker's reason is in
/// `extensions.reason`. Nothing is written on any error.
pub async fn merge(
    db: &impl Database,
    scope: ProjectScope,
    input: &MergeInput,
    origin: MergeOrigin,
) -> AppResult<(lead::Model, Uuid)> {
    check_shape(input)?;
    let txn = begin_write(db).await?;
    let rules = attribute_defs::rules(&txn, scope).await?;
    let out = merges::apply(&txn, scope, input, origin, &rules).await?;
    txn.commit().await?;
    Ok(out)
}

/// Undoes merge `merge_id` in one write transaction (see `store::merges::undo`): the primary
/// and the secondaries get back exactly the rows they had, their Requests move back,
/// re-pointed tombstones point at their secondary again. Returns the restored primary and
/// secondaries. Errors: `NOT_FOUND` (no such merge in the project); `CONFLICT` when the merge
/// was already undone, was made permanent by an erasure, or a contact changed since (the
/// message says which and how).
pub async fn unmerge(
    db: &impl Database,
    scope: ProjectScope,
    merge_id: Uuid,
    actor: Option<Uuid>,
) -> AppResult<(lead::Model, Vec<lead::Model>)> {
    let txn = begin_write(db).await?;
    let out = merges::undo(&txn, scope, merge_id, actor).await?;
    txn.commit().await?;
    Ok(out)
}
