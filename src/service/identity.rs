//! Identified visitors and project settings: the integrating site's secret, sign-in with the
//! site's token (one contact per person on any browser), identification of an anonymous
//! visitor (its contact merged into the identified one), and the project settings
//! (`auto_merge_on_email`, `link_company_by_email_domain`).
//!
//! The site token is a JWT the site signs server-side with the project's secret (HS256, the
//! scheme of Intercom's and Zendesk's "identity verification" / messaging JWTs): claims
//! `external_id` (required), `email` and `fullname` (optional), `exp` (required).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::{lead, lead_merge, project, project_member, user};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::accounts::Session;
use super::merge::{MergeInput, MergeOrigin};
use super::store::{attribute_defs, changes, leads, merges};
use super::visitors::{self, MetadataInput};
use super::{Database, ProjectScope, begin_write, now};
use crate::auth::{self, Role};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Bytes of randomness in a site secret (256 bits; base64url gives 43 characters).
pub const SITE_SECRET_BYTES: usize = 32;
/// Longest accepted `external_id`, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;

/// Makes a new site secret for `scope`'s project, replacing the old one at once (tokens signed
/// with the old secret stop working). Returns the secret (shown this once: the API never
/// returns it again) and the rotation time.
pub async fn rotate_site_secret(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
) -> AppResult<(String, DateTime<Utc>)> {
    let mut bytes = [0u8; SITE_SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let at = now();
    let found = project::Entity::find_by_id(scope.project_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("project"))?;
    let mut active: project::ActiveModel = found.into();
    active.site_secret = Set(Some(secret.clone()));
    active.site_secret_rotated_at = Set(Some(at));
    active.update(db).await?;
    Ok((secret, at))
}

/// Project settings that may change.
#[derive(Clone, Debug, Default)]
pub struct SettingsPatch {
    /// `auto_merge_on_email`; `None` leaves it.
    pub auto_merge_on_email: Option<bool>,
    /// `strict_attributes`; `None` leaves it.
    pub strict_attributes: Option<bool>,
    /// `link_company_by_email_domain`; `None` leaves it.
    pub link_company_by_email_domain: Option<bool>,
}

/// Applies `patch` to `scope`'s project; returns the project. Errors: `NOT_FOUND`.
pub async fn update_settings(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    patch: SettingsPatch,
) -> AppResult<project::Model> {
    let found = project::Entity::find_by_id(scope.project_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("project"))?;
    if patch.auto_merge_on_email.is_none()
        && patch.strict_attributes.is_none()
        && patch.link_company_by_email_domain.is_none()
    {
        return Ok(found);
    }
    let mut active: project::ActiveModel = found.into();
    if let Some(enabled) = patch.auto_merge_on_email {
        active.auto_merge_on_email = Set(enabled);
    }
    if let Some(strict) = patch.strict_attributes {
        active.strict_attributes = Set(strict);
    }
    if let Some(enabled) = patch.link_company_by_email_domain {
        active.link_company_by_email_domain = Set(enabled);
    }
    Ok(active.update(db).await?)
}

/// Verified and normalised site claims.
struct Identity {
    external_id: String,
    email: Option<normalize::NormalizedEmail>,
    fullname: Option<String>,
}

async fn verify(
    db: &impl ConnectionTrait,
    project_id: Uuid,
    token: &str,
) -> AppResult<(project::Model, Identity)> {
    let project = project::Entity::find_by_id(project_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("project"))?;
    let secret = project
        .site_secret
        .clone()
        .ok_or(AppError::Unauthenticated(
            "the project has no site secret: rotateProjectSecret first",
        ))?;
    let claims = auth::verify_site_token(secret.as_bytes(), token)?;
    let bad = |_| AppError::Unauthenticated("the site token's claims are invalid");
    let external_id = normalize::text(
        "external_id",
        Some(&claims.external_id),
        MAX_EXTERNAL_ID_CHARS,
    )
    .map_err(bad)?
    .ok_or(AppError::Unauthenticated(
        "the site token has no external_id",
    ))?;
    let email = normalize::email("email", claims.email.as_deref()).map_err(bad)?;
    let fullname = normalize::text(
        "fullname",
        claims.fullname.as_deref(),
        normalize::MAX_NAME_CHARS,
    )
    .map_err(bad)?;
    Ok((
        project,
        Identity {
            external_id,
            email,
            fullname,
        },
    ))
}

/// The identified user of (project, external id), created with a GUEST membership if new;
/// its name and email follow the claims when given. Call in a write transaction.
async fn upsert_user(
    txn: &impl ConnectionTrait,
    project_id: Uuid,
    identity: &Identity,
) -> AppResult<user::Model> {
    let candidate = user::Model {
        id: Uuid::new_v4(),
        kind: user::UserKind::Identified,
        login_email: None,
        password_hash: None,
        fullname: identity.fullname.clone(),
        email: identity.email.as_ref().map(|e| e.display.clone()),
        attributes: Value::Object(Map::new()),
        created_at: now(),
        project_id: Some(project_id),
        external_id: Some(identity.external_id.clone()),
    };
    user::Entity::insert(user::ActiveModel::from(candidate))
        .on_conflict_do_nothing_on([user::Column::ProjectId, user::Column::ExternalId])
        .exec_without_returning(txn)
        .await?;
    let found = user::Entity::find()
        .filter(user::Column::ProjectId.eq(project_id))
        .filter(user::Column::ExternalId.eq(identity.external_id.clone()))
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("identified user missing after upsert"))?;
    let mut user = found.clone();
    if let Some(name) = &identity.fullname {
        user.fullname = Some(name.clone());
    }
    if let Some(email) = &identity.email {
        user.email = Some(email.display.clone());
    }
    if user != found {
        user::Entity::update_many()
            .col_expr(user::Column::Fullname, Expr::value(user.fullname.clone()))
            .col_expr(user::Column::Email, Expr::value(user.email.clone()))
            .filter(user::Column::ProjectId.eq(project_id))
            .filter(user::Column::Id.eq(user.id))
            .exec(txn)
            .await?;
    }
    project_member::Entity::insert(project_member::ActiveModel {
        project_id: Set(project_id),
        user_id: Set(user.id),
        role: Set(Role::Guest.as_str().to_owned()),
        created_at: Set(now()),
    })
    .on_conflict(
        OnConflict::columns([
            project_member::Column::ProjectId,
            project_member::Column::UserId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(user)
}

/// The identified visitor's contact gets what the site says (name, email) like a metadata
/// capture: never wiping, journaled in the timeline. Only when the contact already exists
/// (contacts are created with the first request or capture).
async fn apply_claims(
    db: &impl Database,
    scope: ProjectScope,
    user: &user::Model,
    identity: &Identity,
) -> AppResult<()> {
    let exists = leads::find_for_visitor(db, scope, user.id, &Default::default())
        .await?
        .is_some();
    if exists && (identity.email.is_some() || identity.fullname.is_some()) {
        visitors::capture_metadata(
            db,
            scope,
            user.id,
            MetadataInput {
                fullname: identity.fullname.clone(),
                email: identity.email.as_ref().map(|e| e.display.clone()),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(())
}

/// Signs an identified visitor in with the site's token: the user of (project, external id)
/// — the same on every browser, hence one contact — with a GUEST membership. Errors:
/// `NOT_FOUND` (unknown project), `UNAUTHENTICATED` (no site secret yet; token invalid,
/// expired, signed with another secret or algorithm, or without a valid `external_id`).
pub async fn sign_in_with_site_token(
    db: &impl Database,
    project_id: Uuid,
    token: &str,
) -> AppResult<Session> {
    let (project, identity) = verify(db, project_id, token).await?;
    let txn = begin_write(db).await?;
    let user = upsert_user(&txn, project_id, &identity).await?;
    txn.commit().await?;
    let scope = ProjectScope::verified(project_id);
    apply_claims(db, scope, &user, &identity).await?;
    Ok(Session {
        user,
        project,
        role: Role::Guest,
    })
}

/// An anonymous visitor (`anonymous_id`, signed in to `scope`) identifies itself with the
/// site's token: signs the identified user in (see [`sign_in_with_site_token`]) and, when the
/// anonymous visitor has a contact, merges it into the identified user's contact (created if
/// needed) in one transaction, journaled (kind IDENTIFY, undoable with `unmergeContacts`).
/// Returns the identified session and the surviving contact (`None` when the anonymous
/// visitor had none). Errors: those of [`sign_in_with_site_token`]; `FORBIDDEN` when the
/// caller is not an anonymous visitor.
pub async fn identify_visitor(
    db: &impl Database,
    scope: ProjectScope,
    anonymous_id: Uuid,
    token: &str,
) -> AppResult<(Session, Option<lead::Model>)> {
    let caller = user::Entity::find_by_id(anonymous_id)
        .filter(user::Column::ProjectId.eq(scope.project_id))
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated("the visitor no longer exists"))?;
    if caller.kind != user::UserKind::Anonymous {
        return Err(AppError::Forbidden(
            "only an anonymous visitor can identify itself",
        ));
    }
    let (project, identity) = verify(db, scope.project_id, token).await?;
    let txn = begin_write(db).await?;
    let user = upsert_user(&txn, scope.project_id, &identity).await?;
    let mut survivor = None;
    if let Some(anon) =
        leads::find_by_lead_id_locked(&txn, scope, &anonymous_id.to_string()).await?
    {
        let anon = leads::resolve(&txn, scope, anon, true).await?;
        let (identified, _) =
            changes::get_or_create_for_visitor(&txn, scope, user.id, None).await?;
        let mergeable = anon.id != identified.id
            && anon.status == lead::LeadStatus::Normal
            && anon
                .external_id
                .as_ref()
                .is_none_or(|e| *e == identity.external_id);
        survivor = Some(if mergeable {
            let rules = attribute_defs::rules(&txn, scope).await?;
            merges::apply(
                &txn,
                scope,
                &MergeInput {
                    primary_id: identified.id,
                    secondary_ids: vec![anon.id],
                    ..Default::default()
                },
                MergeOrigin {
                    kind: lead_merge::MergeKind::Identify,
                    actor: Some(anonymous_id),
                },
                &rules,
            )
            .await?
            .0
        } else {
            identified
        });
    }
    txn.commit().await?;
    apply_claims(db, scope, &user, &identity).await?;
    if survivor.is_some() {
        survivor = leads::find_for_visitor(db, scope, user.id, &Default::default())
            .await?
            .map(|f| f.lead);
    }
    Ok((
        Session {
            user,
            project,
            role: Role::Guest,
        },
        survivor,
    ))
}
