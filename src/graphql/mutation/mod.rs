//! Root mutations, one file per domain, merged.

mod accounts;
mod contacts;
mod visitor;

use async_graphql::MergedObject;

pub use accounts::AccountMutation;
pub use contacts::{BulkContactResult, BulkContactsPayload, BulkError, ContactMutation};
pub use visitor::VisitorMutation;

/// The root mutation type.
#[derive(Default, MergedObject)]
pub struct Mutation(AccountMutation, VisitorMutation, ContactMutation);
