//! `user`: an anonymous visitor (created by anonymous sign-in) or an agent (email + password).

use sea_orm::entity::prelude::*;

/// What a user is, stored as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum UserKind {
    /// An agent: signs in with email and password.
    #[sea_orm(string_value = "AGENT")]
    Agent,
    /// An anonymous visitor: a random UUID v4, one per browser.
    #[sea_orm(string_value = "ANONYMOUS")]
    Anonymous,
    /// An identified visitor: signed in with the integrating site's token, one per (project,
    /// external id) whatever the browser.
    #[sea_orm(string_value = "IDENTIFIED")]
    Identified,
}

/// One user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    /// Primary key (UUID v4); for a visitor it is also the Lead's `lead_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What the user is.
    pub kind: UserKind,
    /// Agents only: the normalised (NFC, lower-case) sign-in email; unique.
    pub login_email: Option<String>,
    /// Agents only: the Argon2id PHC string of the password.
    pub password_hash: Option<String>,
    /// Display name.
    pub fullname: Option<String>,
    /// Email as given (trimmed, NFC).
    pub email: Option<String>,
    /// Attributes given at anonymous sign-in (a JSON object).
    pub attributes: Json,
    /// Creation time, UTC.
    pub created_at: DateTimeUtc,
    /// Visitors (anonymous and identified): their one project. `None` for agents, who belong
    /// to projects through `project_member`.
    pub project_id: Option<Uuid>,
    /// Identified visitors only: the site's id for the person (unique per project).
    pub external_id: Option<String>,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
