//! Bulk actions on contacts (use cases): delete, add tags, assign an owner, update fields, on
//! either a list of ids (each contact on its own, at most [`super::contacts::MAX_BULK`]) or
//! every contact matching a filter (a saved segment and/or the `contacts` filters) — the
//! "select all matching" of Chatwoot (#8536, #13535) and Intercom.
//!
//! A filter run is a **job** (`bulk_job`): [`start`] counts the matches (refusing more than
//! the cap) and records the job; [`run`] processes it in keyset batches of contact ids (in id
//! order, contacts created after the job excluded), each batch its own transaction that locks
//! its contacts, applies the action, writes them back with one statement
//! ([`changes::save_batch`]: new versions, one timeline event per change) and commits the
//! job's cursor and counters with them. An interrupted job (process killed, lease lost)
//! resumes after its last committed batch: nothing is applied twice, nothing skipped. The
//! instance that starts a job runs it; a job whose instance stopped is resumed by the next
//! read of it ([`resume_if_stalled`]) once its lease (`BULK_LEASE_SECS`) has passed.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use entity::{bulk_job, lead};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::attribute_rules::AttributeRules;
use super::contact_search::{self, ContactQuery};
use super::contacts::{self, BulkOutcome, Rules};
use super::fields::{ContactField, ContactFields, Patch};
use super::store::company_links::{self, CompanyLink};
use super::store::{attribute_defs, bulk_jobs as store, changes, companies, leads};
use super::{Database, ProjectScope, begin_write, now};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Limits of filter runs (`BULK_*` settings).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Contacts per batch (per transaction).
    pub batch_size: u64,
    /// Most contacts one job may match.
    pub max_contacts: u64,
    /// How long a running instance holds a job without progress before another may resume it.
    pub lease: Duration,
}

/// A field change of `updateContacts`: the text fields (not `email`, `phone`, which identify
/// one person), the company (by name: linked, created when the project has none), attributes
/// merged by key, attribute keys removed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldPatch {
    /// Text fields by API name but `company`: a value sets, `null` clears (values already
    /// validated).
    pub fields: BTreeMap<String, Option<String>>,
    /// The company: absent keeps, `null` unlinks, a name links (valid).
    #[serde(default)]
    pub company: Option<Option<String>>,
    /// Attributes merged into each contact's by top-level key.
    pub attributes: Option<Map<String, Value>>,
    /// Attribute keys removed.
    pub remove_attribute_keys: Vec<String>,
}

impl FieldPatch {
    /// Validates `fields` (by the field table; `email` and `phone` refused), `attributes` and
    /// `remove_keys`. Errors: `BAD_USER_INPUT` naming the field; `input` when nothing changes.
    pub fn new(
        fields: ContactFields,
        attributes: Option<Value>,
        remove_keys: &[String],
    ) -> AppResult<Self> {
        let mut valid = fields.validate()?;
        let mut out = Self {
            company: valid.take(ContactField::Company),
            ..Self::default()
        };
        for field in ContactField::ALL {
            if let Some(value) = valid.get(field) {
                if matches!(field, ContactField::Email | ContactField::Phone) {
                    return Err(AppError::bad_input(
                        field.name(),
                        "identifies one person: change it contact by contact",
                    ));
                }
                out.fields.insert(field.name().to_owned(), value.clone());
            }
        }
        out.attributes = normalize::attributes("attributes", attributes)?;
        out.remove_attribute_keys = remove_keys
            .iter()
            .map(|k| normalize::attribute_key("removeAttributeKeys", k))
            .collect::<AppResult<_>>()?;
        if out.fields.is_empty()
            && out.company.is_none()
            && out.attributes.as_ref().is_none_or(Map::is_empty)
            && out.remove_attribute_keys.is_empty()
        {
            return Err(AppError::bad_input("input", "changes nothing"));
        }
        Ok(out)
    }

    /// How it changes the contacts' company link.
    fn link(&self) -> CompanyLink {
        match &self.company {
            None => CompanyLink::Keep,
            Some(None) => CompanyLink::Unlink,
            Some(Some(name)) => CompanyLink::ByName(name.clone()),
        }
    }

    /// Whether applying it needs the project's attribute rules (it sets attributes).
    fn sets_attributes(&self) -> bool {
        self.attributes.as_ref().is_some_and(|a| !a.is_empty())
    }

    /// Applies the patch to `m`, its attributes checked by `rules`; returns whether anything
    /// changed. Errors: `BAD_USER_INPUT` (`attributes.<key>` against its definition;
    /// `attributes` when the merged attributes break their limits).
    fn apply(&self, m: &mut lead::Model, rules: &AttributeRules) -> AppResult<bool> {
        let mut patch = ContactFields::default();
        for (name, value) in &self.fields {
            if let Some(field) = ContactField::from_name(name) {
                patch.set(field, value.clone().map_or(Patch::Clear, Patch::Set));
            }
        }
        let mut changed = patch.validate()?.apply(m);
        let mut attrs = normalize::stored_attributes(&m.attributes);
        if let Some(set) = &self.attributes {
            changed |= normalize::merge_attributes(&mut attrs, rules.check(set.clone())?);
        }
        for key in &self.remove_attribute_keys {
            changed |= attrs.remove(key).is_some();
        }
        normalize::check_attributes("attributes", &attrs)?;
        m.attributes = Value::Object(attrs);
        Ok(changed)
    }
}

/// What a bulk call does to each contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// Soft-delete (status DELETED).
    Delete,
    /// Add tags (already normalised).
    AddTags {
        /// The tags.
        tags: Vec<String>,
    },
    /// Make this agent the owner (`None`: unassign).
    Assign {
        /// The new owner.
        owner: Option<Uuid>,
    },
    /// Change fields and attributes.
    Update {
        /// The change.
        patch: FieldPatch,
    },
}

impl Action {
    /// `bulk_job.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Delete => "DELETE",
            Self::AddTags { .. } => "ADD_TAGS",
            Self::Assign { .. } => "ASSIGN",
            Self::Update { .. } => "UPDATE",
        }
    }

    /// How it changes the contacts' company link.
    fn link(&self) -> CompanyLink {
        match self {
            Self::Update { patch } => patch.link(),
            _ => CompanyLink::Keep,
        }
    }

    /// Whether applying it needs the project's attribute rules.
    fn rules(&self) -> Rules {
        match self {
            Self::Update { patch } if patch.sets_attributes() => Rules::Load,
            _ => Rules::Skip,
        }
    }

    /// Applies the action to `m` (attributes checked by `rules`); returns whether anything
    /// changed. Errors: `BAD_USER_INPUT` when the result breaks a rule (too many tags,
    /// attributes too big, a value that does not fit its definition).
    fn apply(&self, m: &mut lead::Model, rules: &AttributeRules) -> AppResult<bool> {
        match self {
            Self::Delete => Ok(contacts::set_status_of(m, lead::LeadStatus::Deleted)),
            Self::AddTags { tags } => contacts::combine_tags(m, tags, normalize::union_tags),
            Self::Assign { owner } => {
                let changed = m.owner_id != *owner;
                m.owner_id = *owner;
                Ok(changed)
            }
            Self::Update { patch } => patch.apply(m, rules),
        }
    }
}

/// Applies `action` to each contact of `ids` on its own (one bad id does not fail the others).
/// Errors (whole call): `BAD_USER_INPUT` (`ids` empty or over 100; `ownerId` not an agent).
pub async fn by_ids(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    ids: &[String],
    action: &Action,
) -> AppResult<Vec<BulkOutcome>> {
    match action {
        Action::Assign { owner } => contacts::assign_many(db, scope, actor, ids, *owner).await,
        _ => {
            let link = action.link();
            let link = &link;
            contacts::each(ids, |id| {
                contacts::modify(
                    db,
                    scope,
                    actor,
                    (id, None),
                    link,
                    action.rules(),
                    |m, rules| action.apply(m, rules),
                )
            })
            .await
        }
    }
}

/// Checks what [`start`] checks of `action` before counting (the owner is an agent of the
/// project), for a preview. Errors: `BAD_USER_INPUT` (`ownerId`).
pub async fn check(db: &impl Database, scope: ProjectScope, action: &Action) -> AppResult<()> {
    if let Action::Assign { owner: Some(owner) } = action {
        contacts::check_owner(db, scope, *owner, false).await?;
    }
    Ok(())
}

/// How many contacts of `scope` match `query` (a preview of a filter run).
/// Errors: `BAD_USER_INPUT` for an invalid filter.
pub async fn count(
    db: &impl Database,
    scope: ProjectScope,
    query: &ContactQuery,
) -> AppResult<u64> {
    contact_search::count(db, scope, query).await
}

/// Records a job applying `action` to every contact of `scope` matching `query` now (at most
/// `settings.max_contacts`), by `actor`; run it with [`run`]. Returns the job.
/// Errors: `BAD_USER_INPUT` (an invalid filter; `filter` when it matches more than the cap;
/// `ownerId`).
pub async fn start(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    mut query: ContactQuery,
    action: Action,
    settings: Settings,
) -> AppResult<bulk_job::Model> {
    check(db, scope, &action).await?;
    query.order = None;
    let total = contact_search::count(db, scope, &query).await?;
    if total > settings.max_contacts {
        return Err(AppError::bad_input(
            "filter",
            format!(
                "matches {total} contacts; a bulk action takes at most {} (BULK_MAX_CONTACTS): narrow the filter",
                settings.max_contacts
            ),
        ));
    }
    let at = now();
    let job = bulk_job::Model {
        id: Uuid::new_v4(),
        project_id: scope.project_id,
        kind: action.kind().to_owned(),
        query: serde_json::to_value(&query).map_err(AppError::internal)?,
        params: serde_json::to_value(&action).map_err(AppError::internal)?,
        status: store::RUNNING.to_owned(),
        total: i64::try_from(total).unwrap_or(i64::MAX),
        processed: 0,
        succeeded: 0,
        skipped: 0,
        cursor: None,
        actor_id: actor,
        // This instance runs it ([`spawn`]): not stalled until the lease passes.
        lease_owner: Some(instance()),
        lease_until: Some(at + chrono::Duration::from_std(settings.lease).unwrap_or_default()),
        error: None,
        created_at: at,
        updated_at: at,
        finished_at: None,
    };
    store::insert(db, scope, &job).await?;
    Ok(job)
}

/// The job `id` of `scope`. Errors: `NOT_FOUND`.
pub async fn get(db: &impl Database, scope: ProjectScope, id: Uuid) -> AppResult<bulk_job::Model> {
    store::find(db, scope, id, false).await
}

/// This process's id as a job lease owner.
pub fn instance() -> Uuid {
    static INSTANCE: OnceLock<Uuid> = OnceLock::new();
    *INSTANCE.get_or_init(Uuid::new_v4)
}

/// Runs job `id` of `scope` ([`run`], to its end) in a background task of this process, over
/// `db` (the writer). Its outcome is the job's row; errors are logged.
pub fn spawn(db: sea_orm::DatabaseConnection, scope: ProjectScope, id: Uuid, settings: Settings) {
    tokio::spawn(async move {
        if let Err(err) = run(&db, scope, id, instance(), settings, None).await {
            tracing::error!(job = %id, error = %err, "bulk job stopped");
        }
    });
}

/// Whether `job` is RUNNING with no live lease (never claimed, or its instance stopped
/// making progress): [`run`] would resume it.
pub fn stalled(job: &bulk_job::Model) -> bool {
    job.status == store::RUNNING && job.lease_until.is_none_or(|until| until < now())
}

/// Processes job `id` of `scope` as lease owner `owner`: claims its lease (returns the job
/// unchanged when another owner holds a live one), then runs batches until every matching
/// contact is done (COMPLETED) or `max_batches` batches ran (a slice of work: the lease is
/// kept until it expires, as after a crash). An internal error marks the job FAILED (the
/// error is logged; the job keeps the batches it committed). Returns the job as it stands.
/// Errors: `NOT_FOUND`; database errors while recording the failure.
pub async fn run(
    db: &impl Database,
    scope: ProjectScope,
    id: Uuid,
    owner: Uuid,
    settings: Settings,
    max_batches: Option<usize>,
) -> AppResult<bulk_job::Model> {
    let lease = chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::seconds(30));
    let at = now();
    if !store::claim(db, scope, id, owner, at, at + lease).await? {
        return store::find(db, scope, id, false).await;
    }
    let mut batches = 0;
    loop {
        if max_batches.is_some_and(|max| batches >= max) {
            return store::find(db, scope, id, false).await;
        }
        match batch(db, scope, id, owner, settings, lease).await {
            Ok(Some(job)) if job.status == store::RUNNING => batches += 1,
            Ok(Some(job)) => return Ok(job),
            Ok(None) => return store::find(db, scope, id, false).await,
            Err(err) => {
                tracing::error!(job = %id, error = %err, "bulk job failed");
                let mut job = store::find(db, scope, id, false).await?;
                job.status = store::FAILED.to_owned();
                job.error = Some("internal error (see the server log)".into());
                job.lease_until = None;
                job.updated_at = now();
                job.finished_at = Some(job.updated_at);
                store::save(db, scope, &job).await?;
                return Ok(job);
            }
        }
    }
}

/// One batch of job `id`, in its own transaction. Returns the job after it, or `None` when
/// `owner` lost the lease (another instance took over) or the job is no longer running.
async fn batch(
    db: &impl Database,
    scope: ProjectScope,
    id: Uuid,
    owner: Uuid,
    settings: Settings,
    lease: chrono::Duration,
) -> AppResult<Option<bulk_job::Model>> {
    let txn = begin_write(db).await?;
    let mut job = store::find(&txn, scope, id, true).await?;
    if job.status != store::RUNNING || job.lease_owner != Some(owner) {
        return Ok(None);
    }
    let query: ContactQuery =
        serde_json::from_value(job.query.clone()).map_err(AppError::internal)?;
    let action: Action = serde_json::from_value(job.params.clone()).map_err(AppError::internal)?;
    let ids = contact_search::batch_ids(
        &txn,
        scope,
        &query,
        job.created_at,
        job.cursor,
        settings.batch_size,
    )
    .await?;
    let at = now();
    job.updated_at = at;
    job.lease_until = Some(at + lease);
    if ids.is_empty() {
        job.status = store::COMPLETED.to_owned();
        job.lease_until = None;
        job.finished_at = Some(at);
        store::save(&txn, scope, &job).await?;
        txn.commit().await?;
        return Ok(Some(job));
    }
    if let Action::Assign { owner: Some(agent) } = &action
        && contacts::check_owner(&txn, scope, *agent, true)
            .await
            .is_err()
    {
        // The owner left the project since the job started: nothing more can be assigned.
        job.status = store::FAILED.to_owned();
        job.error = Some("the owner is no longer an agent of the project".into());
        job.lease_until = None;
        job.finished_at = Some(at);
        store::save(&txn, scope, &job).await?;
        txn.commit().await?;
        return Ok(Some(job));
    }
    let rules = match action.rules() {
        Rules::Load => attribute_defs::rules(&txn, scope).await?,
        Rules::Skip => AttributeRules::default(),
    };
    // The company an update links to, found (or created) once for the batch.
    let company = match action.link() {
        CompanyLink::Keep => None,
        CompanyLink::ByName(name) => Some(Some(
            companies::find_or_create_by_name(&txn, scope, &name).await?,
        )),
        _ => Some(None),
    };
    let rows = leads::load_many(&txn, scope, &ids, true).await?;
    let mut pairs = Vec::new();
    let (mut succeeded, mut skipped) = (0, 0);
    for id in &ids {
        let Some(before) = rows.get(id) else {
            skipped += 1;
            continue;
        };
        if before.erased_at.is_some() || before.merged_into.is_some() {
            skipped += 1;
            continue;
        }
        let mut after = before.clone();
        let applied = action
            .apply(&mut after, &rules)
            .map(|changed| match &company {
                Some(target) => company_links::set(&mut after, target.as_ref()) || changed,
                None => changed,
            });
        match applied {
            Ok(true) => {
                pairs.push((before.clone(), after));
                succeeded += 1;
            }
            Ok(false) => succeeded += 1,
            Err(_) => skipped += 1,
        }
    }
    changes::save_batch(&txn, scope, job.actor_id, pairs).await?;
    job.cursor = ids.last().copied();
    job.processed += ids.len() as i64;
    job.succeeded += succeeded;
    job.skipped += skipped;
    store::save(&txn, scope, &job).await?;
    txn.commit().await?;
    Ok(Some(job))
}
