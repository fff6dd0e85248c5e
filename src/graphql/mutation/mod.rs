//! Root mutations, one file per domain, merged.

mod accounts;
mod companies;
mod contacts;
mod merge;
mod visitor;
mod webhooks;

use async_graphql::MergedObject;

pub use accounts::AccountMutation;
pub use companies::CompanyMutation;
pub use contacts::{BulkContactResult, BulkContactsPayload, BulkError, ContactMutation};
pub use merge::{MergeMutation, ProjectSecretPayload};
pub use visitor::{IdentifyVisitorPayload, VisitorMutation};
pub use webhooks::{
    CreateWebhookPayload, DeleteWebhookPayload, RotateWebhookSecretPayload, WebhookMutation,
};

/// The root mutation type.
#[derive(Default, MergedObject)]
pub struct Mutation(
    AccountMutation,
    VisitorMutation,
    ContactMutation,
    CompanyMutation,
    MergeMutation,
    WebhookMutation,
);
