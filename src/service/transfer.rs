//! Bulk transfer of contacts (the `import-csv` / `export-csv` subcommands): one row is
//! validated with the API's rules ([`ContactFields`], `normalize`) and upserted on
//! (project, `lead_id`); pages of a project's contacts are read in a stable order.

use chrono::{DateTime, SubsecRound, Utc};
use entity::lead;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::attribute_rules::AttributeRules;
use super::fields::{ContactField, ContactFields, ValidFields};
use super::merge::MAX_ADDITIONAL_EMAILS;
use super::store::attribute_defs;
use super::store::changes::{self, Version};
use super::store::company_links::{self, CompanyLink};
use super::store::leads::{blank, find_by_lead_id_locked, resolve};
use super::{ProjectScope, WriteTxn, now};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// One contact to import. Absent (`None` / `Keep`) values leave a stored contact's values
/// alone.
#[derive(Clone, Debug, Default)]
pub struct ImportContact {
    /// The key; a new UUID when absent (the row always creates then).
    pub lead_id: Option<String>,
    /// Text fields (`Set` only: a CSV cell cannot clear). `company` links the contact to the
    /// company of that name (case-insensitive, created when absent).
    pub fields: ContactFields,
    /// The company's domain: links the contact to the company with this domain (its name
    /// wins over `company`'s), else to a new company with this domain named `company` (or
    /// the domain).
    pub company_domain: Option<String>,
    /// Tags, added to the stored ones (set semantics, like `addContactTags`).
    pub tags: Vec<String>,
    /// Additional emails (absorbed by merges), added to the stored ones (by match key; the
    /// contact's own email is not repeated).
    pub additional_emails: Vec<String>,
    /// `NORMAL`, `DELETED` or `TEMP` (case-insensitive).
    pub status: Option<String>,
    /// A JSON object merged into the stored attributes by top-level key.
    pub attributes: Option<Value>,
    /// Creation time of a new contact (ignored when the contact exists).
    pub created_at: Option<DateTime<Utc>>,
    /// The owner's sign-in email (an agent of the project, case-insensitive).
    pub owner: Option<String>,
}

/// What an import's rows are checked against, read once per import ([`import_rules`]): the
/// project's attribute definitions and strict mode, and its agents by sign-in email (for the
/// `owner` column).
#[derive(Clone, Debug, Default)]
pub struct ImportRules {
    /// The attribute rules.
    pub attributes: AttributeRules,
    /// The project's agents: lower-cased sign-in email → user id.
    pub agents: std::collections::HashMap<String, Uuid>,
}

/// An [`ImportContact`] that passed validation.
#[derive(Clone, Debug)]
pub struct ValidImport {
    lead_id: Option<String>,
    fields: ValidFields,
    company: CompanyLink,
    tags: Vec<String>,
    additional_emails: Vec<normalize::NormalizedEmail>,
    status: Option<lead::LeadStatus>,
    attributes: Option<Map<String, Value>>,
    created_at: Option<DateTime<Utc>>,
    owner: Option<Uuid>,
}

/// What [`upsert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    /// A new contact.
    Created,
    /// An existing contact changed (version + 1).
    Updated,
    /// An existing contact already had every given value.
    Unchanged,
}

/// The status of a status name (`NORMAL`, `DELETED`, `TEMP`; case-insensitive).
pub fn status_code(name: &str) -> Option<lead::LeadStatus> {
    match name.trim().to_ascii_uppercase().as_str() {
        "NORMAL" => Some(lead::LeadStatus::Normal),
        "DELETED" => Some(lead::LeadStatus::Deleted),
        "TEMP" => Some(lead::LeadStatus::Temp),
        _ => None,
    }
}

/// The name of a status (the GraphQL `ContactStatus` spelling; a tombstone, never exported,
/// reads as `NORMAL`).
pub fn status_name(status: lead::LeadStatus) -> &'static str {
    match status {
        lead::LeadStatus::Deleted => "DELETED",
        lead::LeadStatus::Temp => "TEMP",
        lead::LeadStatus::Normal | lead::LeadStatus::Merged => "NORMAL",
    }
}

impl ImportContact {
    /// Validates and normalises every value with the API's rules, before anything is read or
    /// written; the attributes and the owner against the project's `rules` (read once per
    /// import: [`import_rules`]). Errors: `BAD_USER_INPUT` naming the first bad field
    /// (`leadId`, any text field, `companyDomain`, `tags`, `status`, `attributes`,
    /// `attributes.<key>`, `owner`: not an agent of the project).
    pub fn validate(self, rules: &ImportRules) -> AppResult<ValidImport> {
        let lead_id = match self.lead_id {
            None => None,
            Some(id) => Some(
                normalize::text("leadId", Some(&id), 200)?
                    .ok_or_else(|| AppError::bad_input("leadId", "must not be blank"))?,
            ),
        };
        if lead_id
            .as_deref()
            .is_some_and(|id| id.starts_with("erased:"))
        {
            return Err(AppError::bad_input(
                "leadId",
                "`erased:` ids belong to erased contacts",
            ));
        }
        let mut fields = self.fields.validate()?;
        let name = fields.take(ContactField::Company).flatten();
        let company = match (
            normalize::domain("companyDomain", self.company_domain.as_deref())?,
            name,
        ) {
            (Some(domain), name) => CompanyLink::ByDomain { domain, name },
            (None, Some(name)) => CompanyLink::ByName(name),
            (None, None) => CompanyLink::Keep,
        };
        let tags = normalize::tags("tags", &self.tags)?;
        let tags = normalize::union_tags(&[], &tags)?;
        let status =
            match self.status {
                None => None,
                Some(s) => Some(status_code(&s).ok_or_else(|| {
                    AppError::bad_input("status", "must be NORMAL, DELETED or TEMP")
                })?),
            };
        let attributes = normalize::attributes("attributes", self.attributes)?
            .map(|patch| rules.attributes.check(patch))
            .transpose()?;
        let owner = match self.owner {
            None => None,
            Some(email) => Some(
                *rules
                    .agents
                    .get(&normalize::email_key(email.trim()))
                    .ok_or_else(|| {
                        AppError::bad_input("owner", "is not an agent of the project")
                    })?,
            ),
        };
        let mut additional_emails = Vec::with_capacity(self.additional_emails.len());
        for email in &self.additional_emails {
            if let Some(valid) = normalize::email("additionalEmails", Some(email))? {
                additional_emails.push(valid);
            }
        }
        Ok(ValidImport {
            lead_id,
            fields,
            company,
            tags,
            additional_emails,
            status,
            attributes,
            created_at: self.created_at.map(|t| t.trunc_subsecs(6)),
            owner,
        })
    }
}

/// Creates the contact keyed `row.lead_id` in `scope`, or merges the row into the existing
/// one like the API's update does: given fields replace the stored ones, tags are added,
/// attributes merged by top-level key, the status set, the company linked (see
/// [`ImportContact`]; without one, a new email may link by its domain under the project's
/// rule); `version` + 1 and `updated_at` now only when something changed. Run it inside a write transaction (a savepoint per row, so a
/// failing row writes nothing). Errors: `CONFLICT` for an erased contact or a concurrent
/// insert of the same key; `BAD_USER_INPUT` when the merge exceeds a limit (tags,
/// attributes); database errors.
pub async fn upsert(
    db: &WriteTxn,
    scope: ProjectScope,
    row: ValidImport,
) -> AppResult<(Upserted, lead::Model)> {
    let existing = match &row.lead_id {
        Some(id) => find_by_lead_id_locked(db, scope, id).await?,
        None => None,
    };
    let Some(current) = existing else {
        let lead_id = row.lead_id.unwrap_or_else(|| Uuid::new_v4().to_string());
        let mut model = blank(scope, lead_id, row.created_at.unwrap_or_else(now));
        model.updated_at = now().max(model.created_at);
        row.fields.apply(&mut model);
        company_links::apply(db, scope, &row.company, &mut model).await?;
        if row.company.is_keep() {
            company_links::by_email_domain(db, scope, None, &mut model).await?;
        }
        add_emails(&mut model, &row.additional_emails)?;
        model.tags = Value::Array(row.tags.into_iter().map(Value::String).collect());
        model.attributes = Value::Object(row.attributes.unwrap_or_default());
        if let Some(status) = row.status {
            model.status = status;
        }
        model.owner_id = row.owner;
        if !changes::create(db, scope, None, &model).await? {
            return Err(AppError::Conflict(
                "another import created this leadId at the same time".into(),
            ));
        }
        return Ok((Upserted::Created, model));
    };
    // A merged-away contact's lead id stands for the surviving contact.
    let current = resolve(db, scope, current, true).await?;
    if current.erased_at.is_some() {
        return Err(AppError::Conflict("the contact was erased".into()));
    }
    let mut next = current.clone();
    let mut changed = row.fields.apply(&mut next);
    changed |= company_links::apply(db, scope, &row.company, &mut next).await?;
    if row.company.is_keep() {
        changed |=
            company_links::by_email_domain(db, scope, current.email_key.as_deref(), &mut next)
                .await?;
    }
    changed |= add_emails(&mut next, &row.additional_emails)?;
    let stored = normalize::stored_tags(&next.tags);
    let tags = normalize::union_tags(&stored, &row.tags)?;
    if tags.len() != stored.len() {
        next.tags = Value::Array(tags.into_iter().map(Value::String).collect());
        changed = true;
    }
    if let Some(patch) = row.attributes {
        let mut attrs = normalize::stored_attributes(&next.attributes);
        if normalize::merge_attributes(&mut attrs, patch) {
            normalize::check_attributes("attributes", &attrs)?;
            next.attributes = Value::Object(attrs);
            changed = true;
        }
    }
    if let Some(status) = row.status
        && status != next.status
    {
        next.status = status;
        changed = true;
    }
    if let Some(owner) = row.owner
        && Some(owner) != next.owner_id
    {
        next.owner_id = Some(owner);
        changed = true;
    }
    if !changed {
        return Ok((Upserted::Unchanged, current));
    }
    let saved = changes::save(db, scope, None, &current, next, Version::Next, Vec::new()).await?;
    Ok((Upserted::Updated, saved))
}

/// Adds `emails` to `model`'s additional emails, skipping any whose match key is the
/// contact's own email or already listed. Returns whether one was added. Errors:
/// `BAD_USER_INPUT` (`additionalEmails`) past [`MAX_ADDITIONAL_EMAILS`].
fn add_emails(model: &mut lead::Model, emails: &[normalize::NormalizedEmail]) -> AppResult<bool> {
    let listed = normalize::stored_tags(&model.additional_emails);
    let next = normalize::union_emails(
        model.email_key.as_deref(),
        &listed,
        emails.iter().map(|e| e.display.as_str()),
    );
    if next.len() > MAX_ADDITIONAL_EMAILS {
        return Err(AppError::bad_input(
            "additionalEmails",
            format!("at most {MAX_ADDITIONAL_EMAILS} additional emails"),
        ));
    }
    let added = next.len() != listed.len();
    if added {
        model.additional_emails = Value::Array(next.into_iter().map(Value::String).collect());
    }
    Ok(added)
}

/// Up to `limit` contacts of `scope` after the key `after` (`(created_at, lead_id)` of the
/// last contact of the previous page), ordered by creation time then `lead_id` (unique in a
/// project, and kept by an export/import round trip); erased contacts are skipped.
/// Errors: database errors.
pub async fn export_page(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    after: Option<(DateTime<Utc>, String)>,
    limit: u64,
) -> AppResult<Vec<lead::Model>> {
    let mut query = lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::ErasedAt.is_null())
        .filter(lead::Column::Status.ne(lead::LeadStatus::Merged));
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any().add(lead::Column::CreatedAt.gt(at)).add(
                Condition::all()
                    .add(lead::Column::CreatedAt.eq(at))
                    .add(lead::Column::LeadId.gt(id)),
            ),
        );
    }
    Ok(query
        .order_by_asc(lead::Column::CreatedAt)
        .order_by_asc(lead::Column::LeadId)
        .limit(limit)
        .all(db)
        .await?)
}

/// What an import's rows of `scope` are checked against ([`ImportRules`]): the project's
/// attribute rules (one statement) and its agents (two). Errors: `NOT_FOUND` (no such
/// project), database errors.
pub async fn import_rules(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
) -> AppResult<ImportRules> {
    Ok(ImportRules {
        attributes: attribute_defs::rules(db, scope).await?,
        agents: agent_emails(db, scope)
            .await?
            .into_iter()
            .map(|(id, email)| (email, id))
            .collect(),
    })
}

/// The agents of `scope` with their lower-cased sign-in emails (the CSV `owner` column).
pub async fn agent_emails(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
) -> AppResult<std::collections::HashMap<Uuid, String>> {
    Ok(super::store::members::list(db, scope)
        .await?
        .into_iter()
        .filter_map(|m| m.user.login_email.map(|email| (m.user.id, email)))
        .collect())
}

/// The domains of the companies `contacts` (of `scope`) are linked to, by company id (those
/// without a domain are absent). One statement; none without links. Errors: database
/// errors.
pub async fn company_domains(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    contacts: &[lead::Model],
) -> AppResult<std::collections::HashMap<Uuid, String>> {
    let mut ids: Vec<Uuid> = contacts.iter().filter_map(|c| c.company_id).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(super::store::companies::find_many(db, scope, &ids, false)
        .await?
        .into_iter()
        .filter_map(|c| Some((c.id, c.domain?)))
        .collect())
}

/// Whether the project `id` exists. Errors: database errors.
pub async fn project_exists(db: &impl ConnectionTrait, id: Uuid) -> AppResult<bool> {
    Ok(entity::project::Entity::find_by_id(id)
        .one(db)
        .await?
        .is_some())
}
