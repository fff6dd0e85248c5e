//! Relay `PageInfo` (GraphQL Cursor Connections Specification).

use async_graphql::SimpleObject;

/// Where a page sits in its list (Relay Cursor Connections spec, `PageInfo`).
#[derive(Clone, Debug, SimpleObject)]
pub struct PageInfo {
    /// Whether more items follow this page (fetch them with `after: endCursor`).
    pub has_next_page: bool,
    /// Whether items precede this page: true when the page was requested with `after`.
    pub has_previous_page: bool,
    /// Cursor of the first item of the page; null for an empty page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of the page; null for an empty page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// PageInfo of a page whose item cursors are `cursors`, fetched after a cursor or not.
    pub fn new(cursors: &[String], has_next_page: bool, after_given: bool) -> Self {
        Self {
            has_next_page,
            has_previous_page: after_given,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        }
    }
}
