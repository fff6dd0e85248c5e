//! Projects, users and memberships: sign-up, sign-in, anonymous sign-in, and the lookups
//! behind `viewer`.

use entity::{project, project_member, user};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Database, ProjectScope, begin_write, now};
use crate::auth::{self, Role};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Shortest accepted agent password, in characters (NIST SP 800-63B §5.1.1.2).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted agent password, in bytes (bounds the hashing cost).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A signed-in user with the project and role the session is scoped to.
#[derive(Clone, Debug)]
pub struct Session {
    /// The user.
    pub user: user::Model,
    /// The project.
    pub project: project::Model,
    /// The user's role in it.
    pub role: Role,
}

/// Input of [`sign_up`].
#[derive(Clone, Debug)]
pub struct SignUp {
    /// Agent's email (the sign-in name).
    pub email: String,
    /// Agent's password, 8..=1024 bytes.
    pub password: String,
    /// Agent's full name.
    pub fullname: Option<String>,
    /// Name of the project to create, 1..=200 characters.
    pub project_name: String,
}

/// Creates an agent, a project and the agent's OWNER membership in one transaction.
/// Errors: `BAD_USER_INPUT` (`email`, `password`, `fullname`, `projectName`); `CONFLICT` when
/// an agent already has this email (compared by its normalised key).
pub async fn sign_up(db: &impl Database, input: SignUp) -> AppResult<Session> {
    let email = normalize::email("email", Some(&input.email))?
        .ok_or_else(|| AppError::bad_input("email", "is required"))?;
    check_password(&input.password)?;
    let fullname = normalize::text(
        "fullname",
        input.fullname.as_deref(),
        normalize::MAX_NAME_CHARS,
    )?;
    let project_name = normalize::text("projectName", Some(&input.project_name), 200)?
        .ok_or_else(|| AppError::bad_input("projectName", "is required"))?;
    let at = now();
    let user = new_agent(db, email, input.password, fullname, at).await?;
    let project = project::Model {
        id: Uuid::new_v4(),
        name: project_name,
        created_at: at,
        auto_merge_on_email: false,
        strict_attributes: false,
        site_secret: None,
        site_secret_rotated_at: None,
        link_company_by_email_domain: false,
    };
    let txn = begin_write(db).await?;
    project::Entity::insert(project::ActiveModel::from(project.clone()))
        .exec_without_returning(&txn)
        .await?;
    user::Entity::insert(user::ActiveModel::from(user.clone()))
        .exec_without_returning(&txn)
        .await?;
    insert_member(&txn, project.id, user.id, Role::Owner).await?;
    txn.commit().await?;
    Ok(Session {
        user,
        project,
        role: Role::Owner,
    })
}

/// Creates an agent account and makes it a member of the existing project `project_id` with
/// `role` (the `seed` subcommand's second agent; the API has no invitations yet), in one
/// transaction. Errors: `BAD_USER_INPUT` (`email`, `password`, `fullname`); `NOT_FOUND` for
/// an unknown project; `CONFLICT` when an agent already has this email.
pub async fn add_agent(
    db: &impl Database,
    project_id: Uuid,
    email: &str,
    password: &str,
    fullname: Option<&str>,
    role: Role,
) -> AppResult<user::Model> {
    let email = normalize::email("email", Some(email))?
        .ok_or_else(|| AppError::bad_input("email", "is required"))?;
    check_password(password)?;
    let fullname = normalize::text("fullname", fullname, normalize::MAX_NAME_CHARS)?;
    project::Entity::find_by_id(project_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("project"))?;
    let user = new_agent(db, email, password.to_owned(), fullname, now()).await?;
    let txn = begin_write(db).await?;
    user::Entity::insert(user::ActiveModel::from(user.clone()))
        .exec_without_returning(&txn)
        .await?;
    insert_member(&txn, project_id, user.id, role).await?;
    txn.commit().await?;
    Ok(user)
}

/// A new agent user (not inserted yet): checks that no agent has `email` (`CONFLICT`) and
/// hashes `password` with Argon2id off the async threads. Inputs are already validated.
async fn new_agent(
    db: &impl ConnectionTrait,
    email: normalize::NormalizedEmail,
    password: String,
    fullname: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<user::Model> {
    if user::Entity::find()
        .filter(user::Column::LoginEmail.eq(&email.key))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "an agent with this email already exists".into(),
        ));
    }
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(AppError::internal)??;
    Ok(user::Model {
        id: Uuid::new_v4(),
        kind: user::UserKind::Agent,
        login_email: Some(email.key),
        password_hash: Some(hash),
        fullname,
        email: Some(email.display),
        attributes: Value::Object(Map::new()),
        created_at: at,
        project_id: None,
        external_id: None,
    })
}

/// Signs an agent in. `project_id` may be `None` when the agent belongs to exactly one
/// project. Errors: `UNAUTHENTICATED` for an unknown email or a wrong password (same message,
/// and the same Argon2 work for unknown emails, so the two cannot be told apart);
/// `BAD_USER_INPUT` (`projectId`) when it is omitted and the agent has several projects;
/// `FORBIDDEN` when the agent is not a member of `project_id`.
pub async fn sign_in(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
    project_id: Option<Uuid>,
) -> AppResult<Session> {
    const FAILED: &str = "wrong email or password";
    let key = normalize::lookup_key("email", email)?;
    let found = user::Entity::find()
        .filter(user::Column::LoginEmail.eq(&key))
        .one(db)
        .await?;
    let phc = found
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_owned());
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .map_err(AppError::internal)?;
    let user = match found {
        Some(user) if ok => user,
        _ => return Err(AppError::Unauthenticated(FAILED)),
    };
    let mut memberships = project_member::Entity::find()
        .filter(project_member::Column::UserId.eq(user.id))
        .all(db)
        .await?;
    let membership = match project_id {
        Some(pid) => memberships
            .into_iter()
            .find(|m| m.project_id == pid)
            .ok_or(AppError::Forbidden("not a member of this project"))?,
        None if memberships.len() == 1 => memberships.remove(0),
        None if memberships.is_empty() => {
            return Err(AppError::Forbidden("not a member of any project"));
        }
        None => {
            return Err(AppError::bad_input(
                "projectId",
                "is required: the agent belongs to several projects",
            ));
        }
    };
    let project = project::Entity::find_by_id(membership.project_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("project"))?;
    Ok(Session {
        user,
        project,
        role: Role::parse(&membership.role)?,
    })
}

/// Input of [`sign_in_anonymously`].
#[derive(Clone, Debug, Default)]
pub struct AnonymousSignIn {
    /// First name, optional.
    pub firstname: Option<String>,
    /// Last name, optional.
    pub lastname: Option<String>,
    /// Email, optional; validated like any email.
    pub email: Option<String>,
    /// Custom attributes, optional; a JSON object.
    pub attributes: Option<Value>,
}

/// Creates an anonymous visitor (UUID v4) with a GUEST membership in `project_id`. No Lead is
/// created: that happens with the first Request or metadata capture (the contact then starts
/// with these attributes, checked here against the project's definitions: one statement when
/// attributes are given).
/// Errors: `NOT_FOUND` for an unknown project; `BAD_USER_INPUT` (`firstname`, `lastname`,
/// `email`, `attributes`, `attributes.<key>`).
pub async fn sign_in_anonymously(
    db: &impl Database,
    project_id: Uuid,
    input: AnonymousSignIn,
) -> AppResult<Session> {
    let first = normalize::text("firstname", input.firstname.as_deref(), 100)?;
    let last = normalize::text("lastname", input.lastname.as_deref(), 100)?;
    let email = normalize::email("email", input.email.as_deref())?;
    let attributes = normalize::attributes("attributes", input.attributes)?.unwrap_or_default();
    let fullname = match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    };
    // One write transaction for the lookup too: on SQLite's single writer connection, one
    // turn in its queue instead of two.
    let txn = begin_write(db).await?;
    let project = project::Entity::find_by_id(project_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("project"))?;
    // The visitor's attributes seed its contact: checked like a capture's.
    let attributes = if attributes.is_empty() {
        attributes
    } else {
        let scope = ProjectScope::verified(project.id);
        super::store::attribute_defs::rules(&txn, scope)
            .await?
            .check(attributes)?
    };
    let user = user::Model {
        id: Uuid::new_v4(),
        kind: user::UserKind::Anonymous,
        login_email: None,
        password_hash: None,
        fullname,
        email: email.map(|e| e.display),
        attributes: Value::Object(attributes),
        created_at: now(),
        project_id: Some(project.id),
        external_id: None,
    };
    user::Entity::insert(user::ActiveModel::from(user.clone()))
        .exec_without_returning(&txn)
        .await?;
    insert_member(&txn, project.id, user.id, Role::Guest).await?;
    txn.commit().await?;
    Ok(Session {
        user,
        project,
        role: Role::Guest,
    })
}

/// The user and project behind a verified token, both checked to still exist and the
/// membership to still hold. `None` when any of them is gone.
pub async fn find_session(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    user_id: Uuid,
) -> AppResult<Option<Session>> {
    let Some(membership) = project_member::Entity::find_by_id((scope.project_id, user_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let user = user::Entity::find_by_id(user_id).one(db).await?;
    let project = project::Entity::find_by_id(scope.project_id)
        .one(db)
        .await?;
    match (user, project) {
        (Some(user), Some(project)) => Ok(Some(Session {
            user,
            project,
            role: Role::parse(&membership.role)?,
        })),
        _ => Ok(None),
    }
}

/// Loads users by id within a project (members only). Used by the `User` loader.
pub async fn users_in_project(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    let member_ids: Vec<Uuid> = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(scope.project_id))
        .filter(project_member::Column::UserId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    user::Entity::find()
        .filter(user::Column::Id.is_in(member_ids))
        .all(db)
        .await
}

async fn insert_member(
    db: &impl ConnectionTrait,
    project_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> AppResult<()> {
    project_member::Entity::insert(project_member::ActiveModel {
        project_id: Set(project_id),
        user_id: Set(user_id),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn check_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::bad_input(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::bad_input(
            "password",
            format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// An Argon2id hash of a random string nobody knows: verified against when the email is
/// unknown, so that a failed sign-in costs the same either way.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J2bq9bSbY6R5yUG2yxLFf+KjJXmCuI4bUg3ea9IuTdM";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_a_real_argon2id_verification() {
        use argon2::password_hash::PasswordHash;
        // A hash that did not parse would make unknown emails fail fast (a timing oracle).
        let parsed = PasswordHash::new(DUMMY_HASH).expect("parses");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let real = auth::hash_password("whatever password").unwrap();
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(parsed.params, real.params, "same cost as real hashes");
        assert!(!auth::verify_password("anything", DUMMY_HASH));
    }
}
