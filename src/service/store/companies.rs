//! Rows of `company`: lookups (by id, name key, domain), inserts, saves, deletes, the
//! by-name get-or-create, and the denormalised name on the linked contacts (`lead.company`).
//! Every function takes the tenant scope and filters on it.

use entity::{company, lead, project};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::{Map, Value};
use sha2::Digest;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::normalize;
use crate::service::{ProjectScope, RawSql, now};

/// A new company of `scope` named `name` (already valid: trimmed, NFC, 1..=200 characters)
/// with `domain` (already normalised), version 1, no attributes (not yet inserted).
pub fn new(scope: ProjectScope, name: String, domain: Option<String>) -> company::Model {
    let at = now();
    company::Model {
        id: Uuid::new_v4(),
        project_id: scope.project_id,
        name_key: normalize::match_key(&name),
        name,
        domain,
        attributes: Value::Object(Map::new()),
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

/// The `SELECT` of the company `id` of `scope`.
fn by_id(scope: ProjectScope, id: Uuid) -> sea_orm::Select<company::Entity> {
    company::Entity::find_by_id(id).filter(company::Column::ProjectId.eq(scope.project_id))
}

/// The company `id` of `scope`; `None` when absent or another project's.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<Option<company::Model>> {
    Ok(by_id(scope, id).one(db).await?)
}

/// The company `id` of `scope` to link a contact to, locked `FOR SHARE` on PostgreSQL (call
/// in a write transaction): a concurrent rename or delete of the company waits for the
/// link's commit (then renames or unlinks the new link too), or the link waits for it (then
/// reads the new name, or finds nothing). `None` when absent or another project's.
pub async fn find_linkable(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<Option<company::Model>> {
    Ok(by_id(scope, id).lock_shared().one(db).await?)
}

/// The companies of `scope` with ids in `ids` (one statement): the `Contact.company`
/// loader, or, with `lock` (`FOR SHARE` on PostgreSQL, see [`find_linkable`]), links being
/// restored.
pub async fn find_many(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
    lock: bool,
) -> Result<Vec<company::Model>, sea_orm::DbErr> {
    let select = company::Entity::find()
        .filter(company::Column::ProjectId.eq(scope.project_id))
        .filter(company::Column::Id.is_in(ids.iter().copied()));
    if lock {
        select.lock_shared().all(db).await
    } else {
        select.all(db).await
    }
}

/// The company `id` of `scope`, locked `FOR UPDATE` on PostgreSQL (call in a write
/// transaction). Errors: `NOT_FOUND` (unknown id or another project's).
pub async fn lock(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<company::Model> {
    by_id(scope, id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("company"))
}

/// The company of `scope` whose domain is `domain` (normalised), locked `FOR SHARE` on
/// PostgreSQL when `lock` (to link a contact to it, see [`find_linkable`]); `None` when none.
pub async fn find_by_domain(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    domain: &str,
    lock: bool,
) -> AppResult<Option<company::Model>> {
    let select = company::Entity::find()
        .filter(company::Column::ProjectId.eq(scope.project_id))
        .filter(company::Column::Domain.eq(domain));
    Ok(if lock {
        select.lock_shared().one(db).await?
    } else {
        select.one(db).await?
    })
}

/// The company of `scope` with domain `domain` when the project's
/// `link_company_by_email_domain` setting is on (both read in one statement), locked `FOR
/// SHARE` on PostgreSQL to link a contact to it (see [`find_linkable`]); `None` when the
/// setting is off or no company has the domain.
pub async fn find_by_domain_for_email(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    domain: &str,
) -> AppResult<Option<company::Model>> {
    let enabled = Query::select()
        .expr(Expr::val(1))
        .from(project::Entity)
        .and_where(project::Column::Id.eq(scope.project_id))
        .and_where(project::Column::LinkCompanyByEmailDomain.eq(true))
        .to_owned();
    Ok(company::Entity::find()
        .filter(company::Column::ProjectId.eq(scope.project_id))
        .filter(company::Column::Domain.eq(domain))
        .filter(Expr::exists(enabled))
        .lock_shared()
        .one(db)
        .await?)
}

/// The oldest company of `scope` whose name matches `name` case-insensitively (its match
/// key), locked `FOR SHARE` on PostgreSQL to link a contact to it (see [`find_linkable`]);
/// `None` when none.
async fn find_by_name(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    name: &str,
) -> AppResult<Option<company::Model>> {
    Ok(company::Entity::find()
        .filter(company::Column::ProjectId.eq(scope.project_id))
        .filter(company::Column::NameKey.eq(normalize::match_key(name)))
        .order_by_asc(company::Column::CreatedAt)
        .order_by_asc(company::Column::Id)
        .lock_shared()
        .one(db)
        .await?)
}

/// The company of `scope` named `name` (case-insensitively; the oldest of several; locked
/// `FOR SHARE` on PostgreSQL, see [`find_linkable`]), created when there is none (no domain,
/// no attributes). `name` is already valid. Race-free on
/// PostgreSQL: a creator takes a transaction-scoped advisory lock on (project, name key) and
/// looks again, so two transactions linking to the same new name make one company (SQLite
/// serialises writers already). Call in a write transaction.
pub async fn find_or_create_by_name(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    name: &str,
) -> AppResult<company::Model> {
    if let Some(found) = find_by_name(db, scope, name).await? {
        return Ok(found);
    }
    if db.get_database_backend() == DbBackend::Postgres {
        let key = normalize::match_key(name);
        let digest = sha2::Sha256::new()
            .chain_update(scope.project_id.as_bytes())
            .chain_update(key.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let lock = RawSql::new()
            .sql("SELECT pg_advisory_xact_lock(")
            .value(i64::from_be_bytes(first))
            .sql(")");
        db.execute_raw(lock.into_statement(DbBackend::Postgres))
            .await?;
        if let Some(found) = find_by_name(db, scope, name).await? {
            return Ok(found);
        }
    }
    let model = new(scope, name.to_owned(), None);
    insert(db, scope, &model).await?;
    Ok(model)
}

/// Inserts `model` (a company of `scope`). Errors: `CONFLICT` with `extensions.existingId`
/// when another company of the project has its domain (a concurrent insert of the same
/// domain: `CONFLICT` from the unique index).
pub async fn insert(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    model: &company::Model,
) -> AppResult<()> {
    if model.project_id != scope.project_id {
        return Err(AppError::internal("a company inserted outside its scope"));
    }
    check_domain_free(db, scope, model).await?;
    company::Entity::insert(company::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Writes every column of `model` to its row (in `scope`). Errors: `CONFLICT` with
/// `extensions.existingId` when another company has its domain; `INTERNAL` when the row is
/// not in the project.
pub async fn save(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    model: &company::Model,
) -> AppResult<()> {
    check_domain_free(db, scope, model).await?;
    let done = company::Entity::update_many()
        .set(company::ActiveModel::from(model.clone()).reset_all())
        .filter(company::Column::Id.eq(model.id))
        .filter(company::Column::ProjectId.eq(scope.project_id))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::internal(
            "the company to save is not in its project",
        ));
    }
    Ok(())
}

/// `CONFLICT` (`existingId`) when a company of `scope` other than `model` has its domain.
async fn check_domain_free(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    model: &company::Model,
) -> AppResult<()> {
    let Some(domain) = &model.domain else {
        return Ok(());
    };
    match find_by_domain(db, scope, domain, false).await? {
        Some(holder) if holder.id != model.id => Err(AppError::AlreadyExists {
            what: "a company with this domain",
            existing_id: holder.id,
        }),
        _ => Ok(()),
    }
}

/// Deletes the company `id` of `scope` (its contacts must have been unlinked).
pub async fn delete(db: &impl ConnectionTrait, scope: ProjectScope, id: Uuid) -> AppResult<()> {
    company::Entity::delete_many()
        .filter(company::Column::ProjectId.eq(scope.project_id))
        .filter(company::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets the name every Lead linked to company `id` (tombstones included) shows in its
/// `company` column to `name` (a rename: not a change of the contacts, so no version and no
/// timeline event). Returns how many rows it wrote.
pub async fn rename_contacts(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    name: &str,
) -> AppResult<u64> {
    let done = lead::Entity::update_many()
        .col_expr(lead::Column::Company, Expr::value(name.to_owned()))
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::CompanyId.eq(id))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
