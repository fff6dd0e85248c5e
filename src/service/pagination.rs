//! Keyset pagination: opaque cursors over (created_at, id), newest first.
//!
//! This module is also the one cursor codec ([`encode_cursor`], [`decode_cursor`] over a
//! [`CursorPosition`]) and the one page-size check ([`page_size`]) of every list. A cursor
//! here is `base64url("v1|<created_at µs since epoch>|<uuid>")`; clients must treat it as
//! opaque (Relay Cursor Connections spec). Rows are ordered `created_at DESC, id DESC`; the id
//! breaks ties so rows sharing a timestamp are neither skipped nor repeated, and rows inserted
//! while paging (newer) do not shift later pages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Order, Query, SelectStatement, WindowStatement,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Page size when `first` (or `last`) is absent.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest accepted `first` (or `last`).
pub const MAX_PAGE_SIZE: u64 = 100;

/// The one page-size check of every list: `n` (the `first` or `last` argument named by
/// `field`) defaults to [`DEFAULT_PAGE_SIZE`] and must be within 0..=[`MAX_PAGE_SIZE`] (0
/// gives an empty page). Errors: `BAD_USER_INPUT` on `field`.
pub fn page_size(field: &'static str, n: Option<i32>) -> AppResult<u64> {
    match n {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) => u64::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_PAGE_SIZE)
            .ok_or_else(|| {
                AppError::bad_input(field, format!("must be between 0 and {MAX_PAGE_SIZE}"))
            }),
    }
}

/// The page size a paginated field asking for `n` rows (`first`, or `last`) is costed at by
/// the complexity limit: the size [`page_size`] reads, at least 1 and at most
/// [`MAX_PAGE_SIZE`] (a refused size still costs something, and never more than a page).
pub fn costed_page_size(n: Option<i32>) -> u64 {
    n.map_or(DEFAULT_PAGE_SIZE, |n| {
        u64::try_from(n).unwrap_or(0).clamp(1, MAX_PAGE_SIZE)
    })
}

/// A position a cursor carries, with a text form: `|`-separated fields starting with a
/// version tag (`v1`, `v2`, `d1`, ...). [`encode_cursor`] and [`decode_cursor`] turn it into
/// and back from the opaque string clients see.
pub trait CursorPosition: Sized {
    /// The text form.
    fn to_text(&self) -> String;
    /// Parses the text form; `None` for any text this type does not write.
    fn from_text(text: &str) -> Option<Self>;
}

/// The one cursor codec: the opaque string form of `position`, `base64url(text form)`
/// without padding.
pub fn encode_cursor(position: &impl CursorPosition) -> String {
    URL_SAFE_NO_PAD.encode(position.to_text())
}

/// Parses a cursor made by [`encode_cursor`] for a `P`. Errors: [`invalid_cursor`] on `field`
/// for anything else.
pub fn decode_cursor<P: CursorPosition>(field: &'static str, value: &str) -> AppResult<P> {
    let bytes = URL_SAFE_NO_PAD
        .decode(value.trim())
        .map_err(|_| invalid_cursor(field))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid_cursor(field))?;
    P::from_text(&text).ok_or_else(|| invalid_cursor(field))
}

/// The error of a cursor this server did not make for this list (or for its ordering):
/// `BAD_USER_INPUT` on `field`.
pub fn invalid_cursor(field: &'static str) -> AppError {
    AppError::bad_input(field, "is not a valid cursor for this list")
}

/// A position in a newest-first list. Ordered by (created_at, id), the list's sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// The row's creation time.
    pub created_at: DateTime<Utc>,
    /// The row's id (tie-breaker).
    pub id: Uuid,
}

impl CursorPosition for Cursor {
    /// `v1|<created_at µs since epoch>|<uuid>`.
    fn to_text(&self) -> String {
        format!("v1|{}|{}", self.created_at.timestamp_micros(), self.id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.split('|');
        let (Some("v1"), Some(micros), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

impl Cursor {
    /// The opaque string form ([`encode_cursor`]).
    pub fn encode(&self) -> String {
        encode_cursor(self)
    }

    /// Parses the opaque string form ([`decode_cursor`]). Errors: `BAD_USER_INPUT` on `field`
    /// for anything that is not a cursor this server made.
    pub fn decode(field: &'static str, value: &str) -> AppResult<Self> {
        decode_cursor(field, value)
    }
}

/// Validated forward-pagination arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageArgs {
    /// Rows wanted, 0..=[`MAX_PAGE_SIZE`].
    pub first: u64,
    /// Start strictly after this position.
    pub after: Option<Cursor>,
}

impl PageArgs {
    /// Validates `first` ([`page_size`]) and decodes `after`. Errors: `BAD_USER_INPUT` on
    /// `first` or `after`.
    pub fn new(first: Option<i32>, after: Option<&str>) -> AppResult<Self> {
        let first = page_size("first", first)?;
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

/// One page per Lead in ONE statement: [`per_group_window`] partitioned by the `lead`
/// column.
pub fn per_lead_window(inner: SelectStatement, page: PageArgs) -> SelectStatement {
    per_group_window(inner, "lead", page)
}

/// One page per group in ONE statement: wraps `inner` — a filtered `SELECT` of a table with
/// `group`, `created_at` and `id` columns — with `ROW_NUMBER() OVER (PARTITION BY group ORDER
/// BY created_at DESC, id DESC)`, applies `page.after` to every group and keeps `page.first +
/// 1` rows per group (the extra one signals a next page). Window functions: SQLite ≥ 3.25 and
/// PostgreSQL. Rows come back unordered: group them with [`pages_by_group`] (per Lead: by
/// `lead`).
pub fn per_group_window(
    mut inner: SelectStatement,
    group: &'static str,
    page: PageArgs,
) -> SelectStatement {
    inner.expr_window_as(
        Expr::cust("ROW_NUMBER()"),
        WindowStatement::partition_by(Alias::new(group))
            .order_by(Alias::new("created_at"), Order::Desc)
            .order_by(Alias::new("id"), Order::Desc)
            .take(),
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

/// Groups the rows of a per-group batch (up to `first + 1` per group) into one newest-first
/// [`Page`] per group; `group` and `cursor` read a row's group and position. Groups without
/// rows are absent.
pub fn pages_by_group<T>(
    rows: Vec<T>,
    group: impl Fn(&T) -> Uuid,
    cursor: impl Fn(&T) -> Cursor,
    first: u64,
) -> HashMap<Uuid, Page<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(group(&row)).or_default().push(row);
    }
    grouped
        .into_iter()
        .map(|(key, mut rows)| {
            rows.sort_by_key(|r| std::cmp::Reverse(cursor(r)));
            (key, Page::from_overfetch(rows, first))
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
        // The encoded form is the one cursors were issued in before the shared codec.
        let issued = URL_SAFE_NO_PAD.encode(format!("v1|1764000000123456|{}", c.id));
        assert_eq!(c.encode(), issued);
        for bad in ["", "xyz", "djF8MXwy", &URL_SAFE_NO_PAD.encode("v1|a|b")] {
            assert!(matches!(
                Cursor::decode("after", bad),
                Err(AppError::BadUserInput { field: "after", .. })
            ));
        }
    }

    #[test]
    fn page_size_is_one_check_for_first_and_last() {
        assert_eq!(page_size("last", None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size("last", Some(0)).unwrap(), 0);
        for n in [-1, 101, i32::MIN, i32::MAX] {
            assert!(matches!(
                page_size("last", Some(n)),
                Err(AppError::BadUserInput { field: "last", .. })
            ));
        }
        // The same costs as the former `n.unwrap_or(20).clamp(1, 100) * child + 1`.
        for n in [
            None,
            Some(-3),
            Some(0),
            Some(1),
            Some(50),
            Some(100),
            Some(1000),
        ] {
            let old = n.unwrap_or(20).clamp(1, 100) as u64;
            assert_eq!(costed_page_size(n), old);
        }
    }

    #[test]
    fn per_lead_window_statement() {
        let inner = Query::select()
            .column(Asterisk)
            .from(Alias::new("request"))
            .to_owned();
        let page = PageArgs::new(Some(2), None).unwrap();
        let sql = per_lead_window(inner, page).to_string(sea_orm::sea_query::PostgresQueryBuilder);
        assert_eq!(
            sql,
            r#"SELECT * FROM (SELECT *, ROW_NUMBER() OVER ( PARTITION BY "lead" ORDER BY "created_at" DESC, "id" DESC ) AS "rn" FROM "request") AS "ranked" WHERE "rn" <= 3"#
        );
    }

    #[test]
    fn page_args_bounds() {
        assert_eq!(PageArgs::new(None, None).unwrap().first, DEFAULT_PAGE_SIZE);
        assert!(PageArgs::new(Some(101), None).is_err());
        assert!(PageArgs::new(Some(-1), None).is_err());
        assert_eq!(PageArgs::new(Some(100), None).unwrap().first, 100);
    }
}
