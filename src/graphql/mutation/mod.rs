//! Root mutations, one file per domain, merged.

mod accounts;
mod visitor;

use async_graphql::MergedObject;

pub use accounts::AccountMutation;
pub use visitor::VisitorMutation;

/// The root mutation type.
#[derive(Default, MergedObject)]
pub struct Mutation(AccountMutation, VisitorMutation);
