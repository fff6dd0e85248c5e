//! Rows of `project_member` as the dashboard's team: the agents (OWNER, ADMIN, AGENT) of a
//! project, who may own contacts and write notes. Visitors' GUEST memberships are never
//! returned here.

use entity::{project_member, user};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::auth::Role;
use crate::error::AppResult;
use crate::service::ProjectScope;

/// The agent roles, as stored.
const AGENT_ROLES: [&str; 3] = ["OWNER", "ADMIN", "AGENT"];

/// An agent of a project.
#[derive(Clone, Debug)]
pub struct Member {
    /// The agent's user row.
    pub user: user::Model,
    /// Its role in the project.
    pub role: Role,
    /// When it joined the project (UTC).
    pub joined_at: chrono::DateTime<chrono::Utc>,
}

/// The agent `user_id`'s membership of `scope`, locked `FOR SHARE` on PostgreSQL when `lock`
/// (so that removing the member waits for, or is seen by, the transaction that checked it);
/// `None` when the user is not an agent of the project.
pub async fn agent_role(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    user_id: Uuid,
    lock: bool,
) -> AppResult<Option<Role>> {
    let mut select = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(scope.project_id))
        .filter(project_member::Column::UserId.eq(user_id))
        .filter(project_member::Column::Role.is_in(AGENT_ROLES));
    if lock {
        select = select.lock_shared();
    }
    select
        .one(db)
        .await?
        .map(|m| Role::parse(&m.role))
        .transpose()
}

/// The agents of `scope` whose user ids are in `ids` (one statement): the `User` loader of
/// contact owners and note authors. A user who is not (or no longer) an agent of the project
/// is absent.
pub async fn agents_by_id(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    let members = Query::select()
        .column(project_member::Column::UserId)
        .from(project_member::Entity)
        .and_where(project_member::Column::ProjectId.eq(scope.project_id))
        .and_where(project_member::Column::Role.is_in(AGENT_ROLES))
        .and_where(project_member::Column::UserId.is_in(ids.iter().copied()))
        .to_owned();
    user::Entity::find()
        .filter(user::Column::Id.in_subquery(members))
        .all(db)
        .await
}

/// Every agent of `scope`, in the order they joined (then by user id); two statements.
pub async fn list(db: &impl ConnectionTrait, scope: ProjectScope) -> AppResult<Vec<Member>> {
    let rows = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(scope.project_id))
        .filter(project_member::Column::Role.is_in(AGENT_ROLES))
        .order_by_asc(project_member::Column::CreatedAt)
        .order_by_asc(project_member::Column::UserId)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|m| m.user_id).collect();
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|m| {
            let user = users.iter().find(|u| u.id == m.user_id)?.clone();
            Some(Role::parse(&m.role).map(|role| Member {
                user,
                role,
                joined_at: m.created_at,
            }))
        })
        .collect()
}

/// How many OWNERs `scope` has (a project keeps at least one).
pub async fn owner_count(db: &impl ConnectionTrait, scope: ProjectScope) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(scope.project_id))
        .filter(project_member::Column::Role.eq(Role::Owner.as_str()))
        .count(db)
        .await?)
}

/// Makes `user_id` a member of `scope` with `role`, joined at `at`.
pub async fn insert(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    user_id: Uuid,
    role: Role,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    project_member::Entity::insert(project_member::ActiveModel::from(project_member::Model {
        project_id: scope.project_id,
        user_id,
        role: role.as_str().to_owned(),
        created_at: at,
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Ends `user_id`'s membership of `scope`.
pub async fn delete(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    user_id: Uuid,
) -> AppResult<()> {
    project_member::Entity::delete_many()
        .filter(project_member::Column::ProjectId.eq(scope.project_id))
        .filter(project_member::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
