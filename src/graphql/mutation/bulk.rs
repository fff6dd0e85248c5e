//! Bulk actions on contacts: `deleteContacts`, `addTagsToContacts`, `assignContacts`,
//! `updateContacts`. Each takes either `ids` (1 to 100, each contact on its own, results per
//! id) or a `filter` and/or a saved `segment` (every matching contact, processed as a
//! `BulkJob` in keyset batches; `preview: true` only counts). Any agent of the project.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use sea_orm::DatabaseConnection;

use crate::db::Writer;
use crate::error::AppError;
use crate::graphql::guards;
use crate::graphql::inputs::{ContactFilter, UpdateContactsInput};
use crate::graphql::types::Contact;
use crate::graphql::types::bulk_job::BulkJob;
use crate::normalize;
use crate::service::bulk::{self, Action, FieldPatch, Settings};
use crate::service::contacts::BulkOutcome;
use crate::service::store::leads;
use crate::service::{ProjectScope, segments};

/// Why one item of a bulk call failed.
#[derive(SimpleObject)]
pub struct BulkError {
    /// The `extensions.code` the single-item mutation would have returned.
    pub code: String,
    /// A human-readable reason.
    pub message: String,
    /// For `BAD_USER_INPUT`, the offending input.
    pub field: Option<String>,
}

/// The outcome for one id of a bulk call.
#[derive(SimpleObject)]
pub struct BulkContactResult {
    /// The id as given.
    pub id: ID,
    /// The changed contact; null when this id failed.
    pub contact: Option<Contact>,
    /// Why this id failed; null on success.
    pub error: Option<BulkError>,
}

/// What a bulk call returns. With `ids`: one result per id, in input order. With a `filter`
/// or `segment`: `matchedCount` and, unless `preview`, the `job` processing them (`results`
/// empty). With `preview`: only `matchedCount` (nothing is written).
#[derive(SimpleObject)]
pub struct BulkContactsPayload {
    /// One result per id, in input order (`ids` calls only).
    pub results: Vec<BulkContactResult>,
    /// How many ids succeeded.
    pub succeeded: i32,
    /// How many ids failed.
    pub failed: i32,
    /// How many contacts the call takes: the ids of the project (ids calls), or the contacts
    /// matching the filter now (filter calls; the job's `total`).
    pub matched_count: u64,
    /// The job processing a filter call (poll `bulkJob(id:)` for its progress); null for ids
    /// calls and previews.
    pub job: Option<BulkJob>,
}

impl From<Vec<BulkOutcome>> for BulkContactsPayload {
    fn from(outcomes: Vec<BulkOutcome>) -> Self {
        let mut succeeded = 0;
        let mut failed = 0;
        let results: Vec<BulkContactResult> = outcomes
            .into_iter()
            .map(|o| match o.result {
                Ok(model) => {
                    succeeded += 1;
                    BulkContactResult {
                        id: ID(o.id),
                        contact: Some(Contact(model)),
                        error: None,
                    }
                }
                Err(err) => {
                    failed += 1;
                    let field = err.input_field();
                    if let AppError::Internal(detail) = &err {
                        tracing::error!(error = %detail, "internal error in a bulk item");
                    }
                    let message = match &err {
                        AppError::Internal(_) => "internal error".to_owned(),
                        other => other.to_string(),
                    };
                    BulkContactResult {
                        id: ID(o.id),
                        contact: None,
                        error: Some(BulkError {
                            code: err.code().as_str().to_owned(),
                            message,
                            field,
                        }),
                    }
                }
            })
            .collect();
        Self {
            matched_count: results.len() as u64,
            results,
            succeeded,
            failed,
            job: None,
        }
    }
}

/// Bulk mutations.
#[derive(Default)]
pub struct BulkMutation;

/// The contacts a bulk call takes.
enum Target {
    /// These ids, each on its own.
    Ids(Vec<String>),
    /// Every contact matching this query.
    Filter(Box<crate::service::contact_search::ContactQuery>),
}

/// The target of a bulk call from its arguments. Errors: `BAD_USER_INPUT` (`ids` with a
/// filter or segment, or none of them; a bad filter or `segment`), `NOT_FOUND` (`segment`).
async fn target(
    db: &DatabaseConnection,
    scope: ProjectScope,
    ids: Option<Vec<ID>>,
    filter: Option<ContactFilter>,
    segment: Option<ID>,
) -> Result<Target> {
    match (ids, filter.is_some() || segment.is_some()) {
        (Some(_), true) => Err(AppError::bad_input(
            "ids",
            "give ids, or a filter and/or a segment, not both",
        )
        .into()),
        (None, false) => Err(AppError::bad_input("ids", "give ids, a filter or a segment").into()),
        (Some(ids), false) => Ok(Target::Ids(ids.into_iter().map(|id| id.0).collect())),
        (None, true) => {
            let query = filter.unwrap_or_default().into_query(None)?;
            let segment = segment
                .map(|id| normalize::uuid("segment", &id))
                .transpose()?;
            Ok(Target::Filter(Box::new(
                segments::within(db, scope, segment, query).await?,
            )))
        }
    }
}

/// Runs `action` on the contacts the arguments select (see [`BulkMutation`]).
async fn run(
    ctx: &Context<'_>,
    (ids, filter, segment): (Option<Vec<ID>>, Option<ContactFilter>, Option<ID>),
    preview: bool,
    action: Action,
) -> Result<BulkContactsPayload> {
    let (caller, scope) = guards::require_agent(ctx)?;
    let db = &ctx.data::<Writer>()?.0;
    let settings = *ctx.data::<Settings>()?;
    let empty = |matched_count, job| BulkContactsPayload {
        results: Vec::new(),
        succeeded: 0,
        failed: 0,
        matched_count,
        job,
    };
    match target(db, scope, ids, filter, segment).await? {
        Target::Ids(ids) if preview => {
            let uuids: Vec<uuid::Uuid> = ids
                .iter()
                .filter_map(|id| uuid::Uuid::parse_str(id).ok())
                .collect();
            let found = leads::load_many(db, scope, &uuids, false).await?;
            Ok(empty(found.len() as u64, None))
        }
        Target::Ids(ids) => Ok(bulk::by_ids(db, scope, Some(caller.user_id), &ids, &action)
            .await?
            .into()),
        Target::Filter(query) if preview => {
            bulk::check(db, scope, &action).await?;
            Ok(empty(bulk::count(db, scope, &query).await?, None))
        }
        Target::Filter(query) => {
            let job =
                bulk::start(db, scope, Some(caller.user_id), *query, action, settings).await?;
            bulk::spawn(db.clone(), scope, job.id, settings);
            Ok(empty(job.total as u64, Some(BulkJob(job))))
        }
    }
}

#[Object]
impl BulkMutation {
    /// Soft-deletes contacts (status DELETED): `ids` (each on its own), or every contact
    /// matching `filter` and/or `segment` (a `BulkJob`); `preview` only counts.
    /// Errors (whole call): `UNAUTHENTICATED`, `FORBIDDEN` (visitor), `BAD_USER_INPUT` (`ids`
    /// empty, over 100, or with a filter; a bad filter; `filter` matching more than
    /// `BULK_MAX_CONTACTS`; `segment`), `NOT_FOUND` (`segment`). Per id: `BAD_USER_INPUT`,
    /// `NOT_FOUND`, `CONFLICT` in `results`.
    #[allow(clippy::too_many_arguments)]
    async fn delete_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "1 to 100 contact ids (or give `filter` / `segment`).")] ids: Option<
            Vec<ID>,
        >,
        #[graphql(desc = "Every contact matching these filters (as `contacts`).")] filter: Option<
            ContactFilter,
        >,
        #[graphql(desc = "Every contact of this saved segment (AND `filter`).")] segment: Option<
            ID,
        >,
        #[graphql(desc = "Only count the contacts; change nothing.", default)] preview: bool,
    ) -> Result<BulkContactsPayload> {
        run(ctx, (ids, filter, segment), preview, Action::Delete).await
    }

    /// Adds tags to contacts: `ids` (each on its own), or every contact matching `filter`
    /// and/or `segment` (a `BulkJob`); `preview` only counts.
    /// Errors (whole call): as `deleteContacts`, and `BAD_USER_INPUT` (`tags`). Per id:
    /// `BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT` in `results`.
    async fn add_tags_to_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "1 to 100 contact ids (or give `filter` / `segment`).")] ids: Option<
            Vec<ID>,
        >,
        #[graphql(desc = "Every contact matching these filters (as `contacts`).")] filter: Option<
            ContactFilter,
        >,
        #[graphql(desc = "Every contact of this saved segment (AND `filter`).")] segment: Option<
            ID,
        >,
        #[graphql(desc = "Only count the contacts; change nothing.", default)] preview: bool,
        #[graphql(desc = "Tags to add to each.")] tags: Vec<String>,
    ) -> Result<BulkContactsPayload> {
        let tags = normalize::tags("tags", &tags)?;
        run(
            ctx,
            (ids, filter, segment),
            preview,
            Action::AddTags { tags },
        )
        .await
    }

    /// Makes an agent of the project the owner of contacts (`ownerId` null or absent:
    /// unassigns them): `ids` (each on its own), or every contact matching `filter` and/or
    /// `segment` (a `BulkJob`); `preview` only counts. Each changed contact gets a new version
    /// and a `FIELD_CHANGED` `owner` timeline event.
    /// Errors (whole call): as `deleteContacts`, and `BAD_USER_INPUT` (`ownerId` not a UUID or
    /// not an agent of the project). Per id: `BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT` in
    /// `results`.
    async fn assign_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "1 to 100 contact ids (or give `filter` / `segment`).")] ids: Option<
            Vec<ID>,
        >,
        #[graphql(desc = "Every contact matching these filters (as `contacts`).")] filter: Option<
            ContactFilter,
        >,
        #[graphql(desc = "Every contact of this saved segment (AND `filter`).")] segment: Option<
            ID,
        >,
        #[graphql(desc = "Only count the contacts; change nothing.", default)] preview: bool,
        #[graphql(desc = "The new owner (`ProjectMember.user.id`); null unassigns.")]
        owner_id: Option<ID>,
    ) -> Result<BulkContactsPayload> {
        let owner = owner_id
            .map(|id| normalize::uuid("ownerId", &id))
            .transpose()?;
        run(
            ctx,
            (ids, filter, segment),
            preview,
            Action::Assign { owner },
        )
        .await
    }

    /// Changes fields and attributes of contacts: `ids` (each on its own), or every contact
    /// matching `filter` and/or `segment` (a `BulkJob`); `preview` only counts. Each changed
    /// contact gets a new version and its `FIELD_CHANGED` events.
    /// Errors (whole call): as `deleteContacts`, and `BAD_USER_INPUT` (any field of `input`;
    /// `input` changing nothing). Per id: `BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT` in
    /// `results`.
    async fn update_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "1 to 100 contact ids (or give `filter` / `segment`).")] ids: Option<
            Vec<ID>,
        >,
        #[graphql(desc = "Every contact matching these filters (as `contacts`).")] filter: Option<
            ContactFilter,
        >,
        #[graphql(desc = "Every contact of this saved segment (AND `filter`).")] segment: Option<
            ID,
        >,
        #[graphql(desc = "Only count the contacts; change nothing.", default)] preview: bool,
        #[graphql(desc = "What to change on each.")] input: UpdateContactsInput,
    ) -> Result<BulkContactsPayload> {
        let patch = FieldPatch::new(
            input.fields(),
            input.attributes.map(|j| j.0),
            &input.remove_attribute_keys,
        )?;
        run(
            ctx,
            (ids, filter, segment),
            preview,
            Action::Update { patch },
        )
        .await
    }
}
