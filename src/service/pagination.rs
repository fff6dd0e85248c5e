//! Keyset pagination: opaque cursors over (created_at, id), newest first.
//!
//! A cursor is `base64url("v1|<created_at µs since epoch>|<uuid>")`; clients must treat it as
//! opaque (Relay Cursor Connections spec). Rows are ordered `created_at DESC, id DESC`; the id
//! breaks ties so rows sharing a timestamp are neither skipped nor repeated, and rows inserted
//! while paging (newer) do not shift later pages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query, SelectStatement};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Page size when `first` is absent.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest accepted `first`.
pub const MAX_PAGE_SIZE: u64 = 100;

/// A position in a newest-first list. Ordered by (created_at, id), the list's sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// The row's creation time.
    pub created_at: DateTime<Utc>,
    /// The row's id (tie-breaker).
    pub id: Uuid,
}

impl Cursor {
    /// The opaque string form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "v1|{}|{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    /// Parses the opaque string form. Errors: `BAD_USER_INPUT` on `field` for anything that is
    /// not a cursor this server made.
    pub fn decode(field: &'static str, value: &str) -> AppResult<Self> {
        let bad = || AppError::bad_input(field, "is not a valid cursor");
        let bytes = URL_SAFE_NO_PAD.decode(value.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.split('|');
        let (Some("v1"), Some(micros), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Self { created_at, id })
    }
}

/// Validated forward-pagination arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageArgs {
    /// Rows wanted, 1..=[`MAX_PAGE_SIZE`].
    pub first: u64,
    /// Start strictly after this position.
    pub after: Option<Cursor>,
}

impl PageArgs {
    /// Validates `first` (default [`DEFAULT_PAGE_SIZE`], 0..=[`MAX_PAGE_SIZE`]; 0 gives an
    /// empty page) and decodes `after`. Errors: `BAD_USER_INPUT` on `first` or `after`.
    pub fn new(first: Option<i32>, after: Option<&str>) -> AppResult<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (0..=MAX_PAGE_SIZE as i32).contains(&n) => n as u64,
            Some(_) => {
                return Err(AppError::bad_input(
                    "first",
                    format!("must be between 0 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let after = after.map(|c| Cursor::decode("after", c)).transpose()?;
        Ok(Self { first, after })
    }
}

/// One page of rows, newest first.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// At most `first` rows.
    pub rows: Vec<T>,
    /// Whether more rows follow the last one.
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `first + 1` fetched rows (the extra one only signals a next
    /// page).
    pub fn from_overfetch(mut rows: Vec<T>, first: u64) -> Self {
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Self {
            rows,
            has_next_page,
        }
    }
}

/// One page per Lead in ONE statement: wraps `inner` — a filtered `SELECT` of a table with
/// `lead`, `created_at` and `id` columns — with `ROW_NUMBER() OVER (PARTITION BY lead ORDER BY
/// created_at DESC, id DESC)`, applies `page.after` to every Lead and keeps `page.first + 1`
/// rows per Lead (the extra one signals a next page). Window functions: SQLite ≥ 3.25 and
/// PostgreSQL. Rows come back unordered: group them with [`pages_by_lead`].
pub fn per_lead_window(mut inner: SelectStatement, page: PageArgs) -> SelectStatement {
    inner.expr_as(
        Expr::cust(
            r#"ROW_NUMBER() OVER (PARTITION BY "lead" ORDER BY "created_at" DESC, "id" DESC)"#,
        ),
        Alias::new("rn"),
    );
    if let Some(after) = page.after {
        let created_at = || Expr::col(Alias::new("created_at"));
        inner.and_where(
            created_at().lt(after.created_at).or(created_at()
                .eq(after.created_at)
                .and(Expr::col(Alias::new("id")).lt(after.id))),
        );
    }
    Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("rn")).lte(page.first as i64 + 1))
        .to_owned()
}

/// Groups the rows of a per-Lead batch (up to `first + 1` per Lead) into one newest-first
/// [`Page`] per Lead; `lead` and `cursor` read a row's Lead and position. Leads without rows
/// are absent.
pub fn pages_by_lead<T>(
    rows: Vec<T>,
    lead: impl Fn(&T) -> Uuid,
    cursor: impl Fn(&T) -> Cursor,
    first: u64,
) -> HashMap<Uuid, Page<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(lead(&row)).or_default().push(row);
    }
    grouped
        .into_iter()
        .map(|(lead, mut rows)| {
            rows.sort_by_key(|r| std::cmp::Reverse(cursor(r)));
            (lead, Page::from_overfetch(rows, first))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode("after", &c.encode()).unwrap(), c);
        for bad in ["", "xyz", "djF8MXwy", &URL_SAFE_NO_PAD.encode("v1|a|b")] {
            assert!(matches!(
                Cursor::decode("after", bad),
                Err(AppError::BadUserInput { field: "after", .. })
            ));
        }
    }

    #[test]
    fn page_args_bounds() {
        assert_eq!(PageArgs::new(None, None).unwrap().first, DEFAULT_PAGE_SIZE);
        assert!(PageArgs::new(Some(101), None).is_err());
        assert!(PageArgs::new(Some(-1), None).is_err());
        assert_eq!(PageArgs::new(Some(100), None).unwrap().first, 100);
    }
}
