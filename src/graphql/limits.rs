//! Operation limits, checked before any resolver runs (so a refused operation costs no SQL):
//! depth and complexity (async-graphql's validation; list fields cost their page size times
//! their children), and the number of aliases and of root fields ([`check_shape`], after
//! parsing, by [`super::prepare`]).
//!
//! Codes: `QUERY_TOO_DEEP`, `QUERY_TOO_COMPLEX`, `TOO_MANY_ALIASES`, `TOO_MANY_ROOT_FIELDS`.
//! The limits apply to introspection too; the defaults leave room for GraphiQL's and
//! graphql-codegen's introspection queries.

use async_graphql::ServerResult;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::error::ErrorCode;

/// The configured limits (defaults: `Config`, written once in its clap attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Largest complexity (each field 1; `contacts` and `requests` multiply their children
    /// by their page size).
    pub max_complexity: usize,
    /// Most aliased fields in a document.
    pub max_aliases: usize,
    /// Most fields at the root of an operation.
    pub max_root_fields: usize,
}

/// The code for a validation error message of async-graphql's depth and complexity limits
/// (`Query is nested too deep.`, `Query is too complex.`).
pub fn code_of_validation_message(message: &str) -> Option<ErrorCode> {
    match message {
        "Query is nested too deep." => Some(ErrorCode::QueryTooDeep),
        "Query is too complex." => Some(ErrorCode::QueryTooComplex),
        // Fragment spreads (or inline fragments) nested past async-graphql's recursion bound.
        m if m.starts_with("The recursion depth of the query cannot be greater than") => {
            Some(ErrorCode::QueryTooDeep)
        }
        _ => None,
    }
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => count_aliases(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Fields of a selection set, inline fragments' included (a fragment spread counts as one).
pub(crate) fn count_fields(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(f) => count_fields(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 1,
        })
        .sum()
}

/// Counts aliases and root fields of a parsed document; refuses it over `limits`.
/// Errors: `TOO_MANY_ROOT_FIELDS`, `TOO_MANY_ALIASES`.
pub fn check_shape(doc: &ExecutableDocument, limits: QueryLimits) -> ServerResult<()> {
    let mut aliases: usize = doc
        .fragments
        .values()
        .map(|f| count_aliases(&f.node.selection_set.node))
        .sum();
    for (_, op) in doc.operations.iter() {
        aliases += count_aliases(&op.node.selection_set.node);
        let roots = count_fields(&op.node.selection_set.node);
        if roots > limits.max_root_fields {
            return Err(ErrorCode::TooManyRootFields.server_error(format!(
                "an operation may select at most {} root fields",
                limits.max_root_fields
            )));
        }
    }
    if aliases > limits.max_aliases {
        return Err(ErrorCode::TooManyAliases.server_error(format!(
            "a document may use at most {} aliases",
            limits.max_aliases
        )));
    }
    Ok(())
}
