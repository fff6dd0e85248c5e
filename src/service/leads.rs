//! Leads (Contacts): the visitor's get-or-create, metadata capture, and agents' lookups.

use entity::{lead, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, TransactionSession, TransactionTrait,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{ProjectScope, begin_write, now};
use crate::error::{AppError, AppResult};
use crate::normalize::{self, NormalizedEmail};

/// Statuses that lists show by default (TEMP and DELETED are hidden).
pub const LISTED_STATUSES: [i32; 1] = [lead::STATUS_NORMAL];

/// Metadata captured by the widget. Every field is optional; an absent or blank one leaves
/// the stored value alone.
#[derive(Clone, Debug, Default)]
pub struct MetadataInput {
    /// Full name (≤ 200 characters).
    pub fullname: Option<String>,
    /// Email (RFC 5322 syntax, ≤ 254 bytes).
    pub email: Option<String>,
    /// Phone (E.164 or national digits).
    pub phone: Option<String>,
    /// Custom attributes: a JSON object merged by top-level key.
    pub attributes: Option<Value>,
}

/// [`MetadataInput`] after validation.
#[derive(Clone, Debug, Default)]
struct ValidMetadata {
    fullname: Option<String>,
    email: Option<NormalizedEmail>,
    phone: Option<String>,
    attributes: Option<Map<String, Value>>,
}

impl MetadataInput {
    fn validate(self) -> AppResult<ValidMetadata> {
        Ok(ValidMetadata {
            fullname: normalize::text(
                "fullname",
                self.fullname.as_deref(),
                normalize::MAX_NAME_CHARS,
            )?,
            email: normalize::email("email", self.email.as_deref())?,
            phone: normalize::phone("phone", self.phone.as_deref())?,
            attributes: normalize::attributes("attributes", self.attributes)?,
        })
    }
}

/// The visitor's Lead in `scope`, created if missing (seeded with the name, email and
/// attributes the visitor gave at sign-in). Race-free: the insert is `ON CONFLICT DO NOTHING`
/// on the unique key (project, lead_id) and the row is read back, locked `FOR UPDATE` on
/// PostgreSQL. Call inside a write transaction ([`begin_write`]).
pub async fn get_or_create_for_visitor(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
) -> AppResult<lead::Model> {
    Ok(get_or_create(txn, scope, visitor_id).await?.0)
}

/// [`get_or_create_for_visitor`], also telling whether this call created the Lead.
async fn get_or_create(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
) -> AppResult<(lead::Model, bool)> {
    let lead_id = visitor_id.to_string();
    if let Some(found) = find_by_lead_id_locked(txn, scope, &lead_id).await? {
        return Ok((found, false));
    }
    let visitor = user::Entity::find_by_id(visitor_id)
        .one(txn)
        .await?
        .ok_or(AppError::Unauthenticated("the visitor no longer exists"))?;
    let email = visitor.email.as_deref().map(normalize::email_key);
    let at = now();
    let attributes = match visitor.attributes {
        Value::Object(map) => Value::Object(map),
        _ => Value::Object(Map::new()),
    };
    let mut new = blank(scope, lead_id.clone(), at);
    let id = new.id;
    new.fullname = visitor.fullname;
    new.email = visitor.email;
    new.email_key = email;
    new.attributes = attributes;
    lead::Entity::insert(lead::ActiveModel::from(new))
        .on_conflict_do_nothing_on([lead::Column::ProjectId, lead::Column::LeadId])
        .exec_without_returning(txn)
        .await?;
    let found = find_by_lead_id_locked(txn, scope, &lead_id)
        .await?
        .ok_or_else(|| AppError::internal("lead missing after get-or-create"))?;
    let created = found.id == id;
    Ok((found, created))
}

/// A new NORMAL Lead of `scope` keyed `lead_id`, version 1, created at `at`, with every
/// optional field empty (not yet inserted).
pub fn blank(
    scope: ProjectScope,
    lead_id: String,
    at: chrono::DateTime<chrono::Utc>,
) -> lead::Model {
    lead::Model {
        id: Uuid::new_v4(),
        project_id: scope.project_id,
        lead_id,
        fullname: None,
        email: None,
        email_key: None,
        phone: None,
        company: None,
        note: None,
        street: None,
        city: None,
        region: None,
        zipcode: None,
        country: None,
        attributes: Value::Object(Map::new()),
        tags: Value::Array(Vec::new()),
        status: lead::STATUS_NORMAL,
        version: 1,
        created_at: at,
        updated_at: at,
        last_request_at: None,
        erased_at: None,
    }
}

pub(crate) async fn find_by_lead_id_locked(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    lead_id: &str,
) -> AppResult<Option<lead::Model>> {
    Ok(lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::LeadId.eq(lead_id))
        .lock_exclusive()
        .one(db)
        .await?)
}

/// Applies captured metadata to the visitor's own Lead (created if needed), in one write
/// transaction. Absent or blank fields leave stored values alone; attributes merge by
/// top-level key; `version` and `updated_at` change only when something did.
/// Errors: `BAD_USER_INPUT` (`fullname`, `email`, `phone`, `attributes`), checked before
/// anything is written.
pub async fn capture_metadata(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
    input: MetadataInput,
) -> AppResult<lead::Model> {
    let input = input.validate()?;
    let txn = begin_write(db).await?;
    let (current, created) = get_or_create(&txn, scope, visitor_id).await?;
    let mut changed = false;
    let mut active: lead::ActiveModel = current.clone().into();
    if let Some(fullname) = input.fullname
        && current.fullname.as_deref() != Some(fullname.as_str())
    {
        active.fullname = Set(Some(fullname));
        changed = true;
    }
    if let Some(email) = input.email
        && current.email.as_deref() != Some(email.display.as_str())
    {
        active.email = Set(Some(email.display));
        active.email_key = Set(Some(email.key));
        changed = true;
    }
    if let Some(phone) = input.phone
        && current.phone.as_deref() != Some(phone.as_str())
    {
        active.phone = Set(Some(phone));
        changed = true;
    }
    if let Some(patch) = input.attributes {
        let mut stored = match current.attributes.clone() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if normalize::merge_attributes(&mut stored, patch) {
            normalize::check_attributes("attributes", &stored)?;
            active.attributes = Set(Value::Object(stored));
            changed = true;
        }
    }
    let saved = if changed {
        // A Lead created by this very call is at its first version.
        active.version = Set(if created {
            current.version
        } else {
            current.version + 1
        });
        active.updated_at = Set(now());
        active.update(&txn).await?
    } else {
        current
    };
    txn.commit().await?;
    Ok(saved)
}

/// The Lead with primary key `id` in `scope`; `None` when absent or in another project.
pub async fn find_by_id(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<Option<lead::Model>> {
    Ok(lead::Entity::find_by_id(id)
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .one(db)
        .await?)
}

/// The visitor's own Lead in `scope`, if it exists yet.
pub async fn find_for_visitor(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
) -> AppResult<Option<lead::Model>> {
    Ok(lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::LeadId.eq(visitor_id.to_string()))
        .one(db)
        .await?)
}

/// Leads with primary keys in `ids`, within `scope` (the `Contact` loader).
pub async fn find_many(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
) -> Result<Vec<lead::Model>, sea_orm::DbErr> {
    lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}
