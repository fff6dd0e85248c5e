//! Input objects of the mutations.

use async_graphql::{ID, InputObject, Json};
use serde_json::Value;

use super::types::enums::Channel;

/// Input of `signUp`.
#[derive(Debug, InputObject)]
pub struct SignUpInput {
    /// The agent's email: the sign-in name (unique, case-insensitive).
    pub email: String,
    /// At least 8 characters, at most 1,024 bytes.
    pub password: String,
    /// The agent's full name (≤ 200 characters).
    pub fullname: Option<String>,
    /// Name of the new project (1..=200 characters).
    pub project_name: String,
}

/// Input of `signIn`.
#[derive(Debug, InputObject)]
pub struct SignInInput {
    /// The agent's email (case-insensitive).
    pub email: String,
    /// The agent's password.
    pub password: String,
    /// The project to scope the token to; may be omitted when the agent has exactly one.
    pub project_id: Option<ID>,
}

/// Input of `signInAnonymously`: the widget's visitor.
#[derive(Debug, InputObject)]
pub struct SignInAnonymouslyInput {
    /// The project whose widget the visitor uses.
    pub project_id: ID,
    /// First name (≤ 100 characters).
    pub firstname: Option<String>,
    /// Last name (≤ 100 characters).
    pub lastname: Option<String>,
    /// Email (validated; copied to the contact when it is created).
    pub email: Option<String>,
    /// Custom attributes (a JSON object; copied to the contact when it is created).
    pub attributes: Option<Json<Value>>,
}

/// Input of `createRequest`.
#[derive(Debug, InputObject)]
pub struct CreateRequestInput {
    /// The visitor's first message (1..=10,000 characters; line breaks allowed).
    pub first_text: String,
    /// Where the request comes from; CHAT21 (the widget) by default.
    pub channel: Option<Channel>,
    /// Custom attributes of the conversation (a JSON object).
    pub attributes: Option<Json<Value>>,
}

/// Input of `captureContactMetadata`. Absent, null or blank fields leave stored values alone.
#[derive(Debug, InputObject)]
pub struct CaptureContactMetadataInput {
    /// Full name (≤ 200 characters).
    pub fullname: Option<String>,
    /// Email (RFC 5322 syntax, ≤ 254 bytes); matched case-insensitively.
    pub email: Option<String>,
    /// Phone: `+` and country code for E.164 (a leading `00` counts as `+`), else national
    /// digits (4..=15).
    pub phone: Option<String>,
    /// Custom attributes: a JSON object merged into the stored one by top-level key.
    pub attributes: Option<Json<Value>>,
}
