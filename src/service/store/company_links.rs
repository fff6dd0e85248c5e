//! A contact's link to its company (`lead.company_id`, with the company's name in
//! `lead.company`): what a contact write asks for ([`CompanyLink`], resolved by [`apply`]),
//! the project's email-domain rule ([`by_email_domain`]) and the unlinking of every contact
//! of a deleted company ([`unlink_all`]). Row-level functions: the use cases (`contacts`,
//! `visitors`, `transfer`, `companies`, `merge`) call them inside their write transaction,
//! before the contact is saved through `changes` (whose diff records the `company` field).

use entity::{company, lead};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use super::companies;
use super::timeline::{self, EventKind, NewEvent};
use crate::error::{AppError, AppResult};
use crate::normalize;
use crate::service::fields::Patch;
use crate::service::{ProjectScope, WriteTxn, now};

/// How a contact write changes the contact's company.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CompanyLink {
    /// Leave it.
    #[default]
    Keep,
    /// No company.
    Unlink,
    /// The company of this name (case-insensitive; the oldest of several), created when the
    /// project has none (the API's `company: String`). The name is already valid.
    ByName(String),
    /// The company with this id (the API's `companyId`). Errors when applied:
    /// `BAD_USER_INPUT` on `companyId` for an unknown id or another project's.
    ById(Uuid),
    /// The company with this domain (normalised), else a new one with this domain and `name`
    /// (the domain itself when `None`): the CSV import's `company_domain` column.
    ByDomain {
        /// The normalised domain.
        domain: String,
        /// The name for a company created here (valid), if the row gave one.
        name: Option<String>,
    },
}

impl CompanyLink {
    /// The link a contact input asks for, from its validated `company` text change (`None`
    /// absent, `Some(None)` null or blank, `Some(Some(name))`) and its `companyId` change.
    /// Errors: `BAD_USER_INPUT` on `companyId` when both are given.
    pub fn from_input(company: Option<Option<String>>, company_id: Patch<Uuid>) -> AppResult<Self> {
        match (company, company_id) {
            (None, Patch::Keep) => Ok(Self::Keep),
            (Some(None), Patch::Keep) | (None, Patch::Clear) => Ok(Self::Unlink),
            (Some(Some(name)), Patch::Keep) => Ok(Self::ByName(name)),
            (None, Patch::Set(id)) => Ok(Self::ById(id)),
            (Some(_), _) => Err(AppError::bad_input(
                "companyId",
                "give `company` (a name) or `companyId`, not both",
            )),
        }
    }

    /// Whether this leaves the link alone.
    pub fn is_keep(&self) -> bool {
        *self == Self::Keep
    }
}

/// Sets `model`'s company per `link` (`company_id` and the company's name in `company`),
/// creating a company for [`CompanyLink::ByName`] / [`CompanyLink::ByDomain`] when needed;
/// a contact already linked to that id, or to a company of that name, keeps its link. The
/// company linked to is locked `FOR SHARE` on PostgreSQL (`companies::find_linkable`).
/// Returns whether the link changed. Errors: `BAD_USER_INPUT` on `companyId` (unknown id or
/// another project's).
pub async fn apply(
    txn: &WriteTxn,
    scope: ProjectScope,
    link: &CompanyLink,
    model: &mut lead::Model,
) -> AppResult<bool> {
    // Already linked as asked: nothing to look up (nor to lock: a rename or delete of that
    // company, which locks it and then its contacts, must not wait for this contact's lock
    // while this waits for the company's).
    let linked_as_asked = match link {
        CompanyLink::ById(id) => model.company_id == Some(*id),
        CompanyLink::ByName(name) => {
            model.company_id.is_some()
                && model.company.as_deref().map(normalize::match_key)
                    == Some(normalize::match_key(name))
        }
        _ => false,
    };
    if linked_as_asked {
        return Ok(false);
    }
    let target = match link {
        CompanyLink::Keep => return Ok(false),
        CompanyLink::Unlink => None,
        CompanyLink::ByName(name) => {
            Some(companies::find_or_create_by_name(txn, scope, name).await?)
        }
        CompanyLink::ById(id) => Some(
            companies::find_linkable(txn, scope, *id)
                .await?
                .ok_or_else(|| {
                    AppError::bad_input("companyId", "no such company in this project")
                })?,
        ),
        CompanyLink::ByDomain { domain, name } => {
            match companies::find_by_domain(txn, scope, domain, true).await? {
                Some(found) => Some(found),
                None => {
                    let name = name.clone().unwrap_or_else(|| domain.clone());
                    let created = companies::new(scope, name, Some(domain.clone()));
                    companies::insert(txn, scope, &created).await?;
                    Some(created)
                }
            }
        }
    };
    Ok(set(model, target.as_ref()))
}

/// Links `model` to `company` (or unlinks it): `company_id` and the name. Returns whether
/// anything changed.
pub fn set(model: &mut lead::Model, company: Option<&company::Model>) -> bool {
    let id = company.map(|c| c.id);
    let name = company.map(|c| c.name.clone());
    let changed = model.company_id != id || model.company != name;
    model.company_id = id;
    model.company = name;
    changed
}

/// The project's email-domain rule: when `model` has no company and its email is new
/// (`before_email_key` differs from its own: a first email, or a changed one), the project's
/// `link_company_by_email_domain` setting is on, and the email's domain is not a free-mail
/// provider's, `model` is linked to the company with exactly that domain (never creating
/// one). One statement when it looks (the setting and the company together), none otherwise.
/// Returns whether it linked.
pub async fn by_email_domain(
    db: &impl sea_orm::ConnectionTrait,
    scope: ProjectScope,
    before_email_key: Option<&str>,
    model: &mut lead::Model,
) -> AppResult<bool> {
    let Some(key) = model.email_key.as_deref() else {
        return Ok(false);
    };
    if model.company_id.is_some() || model.erased_at.is_some() || before_email_key == Some(key) {
        return Ok(false);
    }
    let Some((_, domain)) = key.rsplit_once('@') else {
        return Ok(false);
    };
    // The email's domain in a company domain's form (IDNA); one that does not normalise
    // cannot match any.
    let Ok(Some(domain)) = normalize::domain("email", Some(domain)) else {
        return Ok(false);
    };
    if crate::service::free_mail::is_free_mail_domain(&domain) {
        return Ok(false);
    }
    let Some(found) = companies::find_by_domain_for_email(db, scope, &domain).await? else {
        return Ok(false);
    };
    Ok(set(model, Some(&found)))
}

/// Unlinks every Lead of `scope` linked to `company` (a company being deleted): each contact
/// gets a new version, `updated_at` now and a `FIELD_CHANGED` event of `company` (its name →
/// null) by `actor`; tombstones (merged-away contacts, whose versions guard their unmerge)
/// are unlinked without either. Three statements. Returns how many contacts (not tombstones)
/// were unlinked.
pub async fn unlink_all(
    txn: &WriteTxn,
    scope: ProjectScope,
    actor: Option<Uuid>,
    company: Uuid,
) -> AppResult<u64> {
    let linked: Vec<(Uuid, Option<String>, Option<Uuid>)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::Id)
        .column(lead::Column::Company)
        .column(lead::Column::MergedInto)
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::CompanyId.eq(company))
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await?;
    let unlink = |tombstones: bool| {
        let mut update = lead::Entity::update_many()
            .col_expr(lead::Column::CompanyId, Expr::value(Option::<Uuid>::None))
            .col_expr(lead::Column::Company, Expr::value(Option::<String>::None))
            .filter(lead::Column::ProjectId.eq(scope.project_id))
            .filter(lead::Column::CompanyId.eq(company));
        update = if tombstones {
            update.filter(lead::Column::MergedInto.is_not_null())
        } else {
            update
                .col_expr(
                    lead::Column::Version,
                    Expr::col(lead::Column::Version).add(1),
                )
                .col_expr(lead::Column::UpdatedAt, Expr::value(now()))
                .filter(lead::Column::MergedInto.is_null())
        };
        update
    };
    unlink(false).exec(txn).await?;
    unlink(true).exec(txn).await?;
    let mut contacts = 0;
    for (id, name, merged_into) in linked {
        if merged_into.is_some() {
            continue;
        }
        contacts += 1;
        let event = NewEvent {
            kind: EventKind::FieldChanged,
            data: json!({ "field": "company", "before": name, "after": null }),
        };
        timeline::record(txn, scope, id, actor, vec![event]);
    }
    Ok(contacts)
}

/// Merge journals keep whole Lead rows; a row restored by an unmerge may name a company
/// deleted since (unlinked), one renamed since (the current name), or come from before
/// companies existed (a name without a link: linked by name, like the API's `company`).
/// Makes each of `rows` consistent with the companies of `scope` as they are now.
pub async fn refresh(
    txn: &WriteTxn,
    scope: ProjectScope,
    rows: &mut [lead::Model],
) -> AppResult<()> {
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.company_id).collect();
    let current = if ids.is_empty() {
        Vec::new()
    } else {
        companies::find_many(txn, scope, &ids, true).await?
    };
    for row in rows.iter_mut() {
        match (row.company_id, row.company.clone()) {
            (Some(id), _) => {
                set(row, current.iter().find(|c| c.id == id));
            }
            (None, Some(name)) if row.erased_at.is_none() => {
                let found = companies::find_or_create_by_name(txn, scope, &name).await?;
                set(row, Some(&found));
            }
            _ => {}
        }
    }
    Ok(())
}
