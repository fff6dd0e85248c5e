//! The agents' contact list: filters, full-text search, ordering and Relay pagination in
//! both directions.
//!
//! Search uses each database's own full-text engine (created by migration
//! `m20261129_000002_contact_management`): SQLite FTS5 (`lead_fts`, bm25 ranking) and
//! PostgreSQL `tsvector` over unaccented text (`ts_rank`). Input is split into words on every
//! non-alphanumeric character; every word must match as a prefix (`alv` finds `Álvaro`). A
//! contact whose normalised email equals the whole input ranks first. An input of digits and
//! phone punctuation only (at least 3 digits) matches phone numbers containing those digits.
//!
//! Ordering: by relevance when searching without `order` (cursors are offsets into the ranked
//! result), else keyset over (sort key, id): the id breaks ties, so no row is skipped or
//! repeated when values tie or rows are inserted while paging.

use chrono::{DateTime, Utc};
use entity::lead;
use sea_orm::sea_query::{Alias, BinOper, Expr, ExprTrait, Order, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Value as DbValue,
};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::attribute_filters::{self, AttributeFilter, Condition};
use super::pagination::{CursorPosition, invalid_cursor, page_size};
use super::prefetch::{Nested, Prefetched};
use super::search_walk::{SearchWalk, WalkPage};
use super::store::attribute_defs;
use super::{ProjectScope, RawSql};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Largest position a relevance cursor can carry.
const MAX_RANK_POSITION: u64 = 100_000_000;

/// Longest accepted search input, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// What a list can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrderField {
    /// Creation time.
    CreatedAt,
    /// Last write time.
    UpdatedAt,
    /// Full name, case-insensitive (ASCII), empty names first in ascending order.
    Fullname,
    /// Time of the newest Request; contacts without Requests count as oldest.
    LastRequestAt,
}

impl OrderField {
    const ALL: [Self; 4] = [
        Self::CreatedAt,
        Self::UpdatedAt,
        Self::Fullname,
        Self::LastRequestAt,
    ];

    fn code(self) -> &'static str {
        match self {
            Self::CreatedAt => "c",
            Self::UpdatedAt => "u",
            Self::Fullname => "n",
            Self::LastRequestAt => "l",
        }
    }
}

/// Sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// Filters, search and order of a contact list. Empty means: NORMAL contacts, newest first.
/// Serialisable (JSON): saved segments store one; a field added later must default when
/// absent (`#[serde(default)]` on the struct).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContactQuery {
    /// Full-text search input.
    pub search: Option<String>,
    /// Exact match on the normalised email.
    pub email: Option<String>,
    /// Tags that must all be present (case-insensitive).
    pub tags: Vec<String>,
    /// Stored status codes to include; `[NORMAL]` when empty.
    pub statuses: Vec<lead::LeadStatus>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created strictly before.
    pub created_before: Option<DateTime<Utc>>,
    /// With (true) or without (false) an email.
    pub has_email: Option<bool>,
    /// A top-level attribute equal to a JSON scalar.
    pub attribute: Option<(String, Value)>,
    /// Owned by this agent (a user id).
    pub owner: Option<Uuid>,
    /// Without an owner (true) or with one (false).
    pub unassigned: Option<bool>,
    /// Typed filters on top-level attributes (AND-ed; at most
    /// [`attribute_filters::MAX_FILTERS`]).
    pub attribute_filters: Vec<AttributeFilter>,
    /// Only the contacts linked to this company (its id as given: checked when the query
    /// runs; another project's company matches nothing).
    pub company_id: Option<String>,
    /// Order; relevance when searching and absent, else (CreatedAt, Desc).
    pub order: Option<(OrderField, Direction)>,
}

/// Which page: `first` after a cursor, or `last` before one (Relay spec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageRequest {
    /// Forward pagination.
    Forward {
        /// Page size.
        first: u64,
        /// Start after this cursor.
        after: Option<String>,
    },
    /// Backward pagination.
    Backward {
        /// Page size.
        last: u64,
        /// End before this cursor.
        before: Option<String>,
    },
}

impl PageRequest {
    /// From Relay arguments: `first`/`after` or `last`/`before` (not both directions);
    /// the first 20 by default. Errors: `BAD_USER_INPUT` (`first`/`last` outside 0..=100;
    /// `last` when mixing directions).
    pub fn from_args(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Self> {
        let forward = first.is_some() || after.is_some();
        let backward = last.is_some() || before.is_some();
        match (forward, backward) {
            (true, true) => Err(AppError::bad_input(
                "last",
                "give first/after or last/before, not both",
            )),
            (_, true) => Ok(Self::Backward {
                last: page_size("last", last)?,
                before,
            }),
            _ => Ok(Self::Forward {
                first: page_size("first", first)?,
                after,
            }),
        }
    }
}

/// A page of contacts with the cursor of each row.
#[derive(Clone, Debug)]
pub struct ContactPage {
    /// The rows, in list order.
    pub rows: Vec<lead::Model>,
    /// The opaque cursor of each row.
    pub cursors: Vec<String>,
    /// More rows after the last one.
    pub has_next_page: bool,
    /// More rows before the first one.
    pub has_previous_page: bool,
    /// The nested relations fetched with the rows ([`list`]'s `nested`).
    pub prefetched: Prefetched,
    /// The query's attribute filters as checked for this page (what [`count_checked`] needs
    /// to count the same contacts without reading the definitions again).
    pub conditions: Vec<Condition>,
}

/// Sentinel sort value of a contact without Requests under `LastRequestAt`.
fn no_request_sentinel() -> DateTime<Utc> {
    DateTime::from_timestamp(-62_135_596_800, 0).unwrap_or_default() // 0001-01-01T00:00:00Z
}

/// The SQL of a sort key (the same expression orders the rows and compares cursors).
fn sort_sql(field: OrderField, backend: DbBackend) -> &'static str {
    match (field, backend) {
        (OrderField::CreatedAt, _) => r#""lead"."created_at""#,
        (OrderField::UpdatedAt, _) => r#""lead"."updated_at""#,
        (OrderField::Fullname, _) => r#"COALESCE(LOWER("lead"."fullname"), '')"#,
        (OrderField::LastRequestAt, DbBackend::Postgres) => {
            r#"COALESCE("lead"."last_request_at", '0001-01-01T00:00:00+00:00'::timestamptz)"#
        }
        (OrderField::LastRequestAt, _) => {
            r#"COALESCE("lead"."last_request_at", '0001-01-01T00:00:00+00:00')"#
        }
    }
}

/// A decoded cursor.
#[derive(Clone, Debug, PartialEq)]
enum Position {
    /// Position in a relevance-ranked result.
    Rank(u64),
    /// Keyset position: the sort key (text form) and the id.
    Key { value: String, id: Uuid },
}

/// A cursor of a contact list: the ordering it was made for and the position in it. Text
/// form: `v2|r|<position>` (relevance) or `v2|k|<field>|<direction>|<id>|<sort key>`.
#[derive(Clone, Debug, PartialEq)]
struct ListCursor {
    mode: Mode,
    position: Position,
}

impl CursorPosition for ListCursor {
    fn to_text(&self) -> String {
        match (self.mode, &self.position) {
            (_, Position::Rank(n)) => format!("v2|r|{n}"),
            (Mode::Keyset(f, d), Position::Key { value, id }) => {
                format!("v2|k|{}|{}|{id}|{value}", f.code(), dir_code(d))
            }
            (Mode::Relevance, Position::Key { .. }) => String::new(),
        }
    }

    fn from_text(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.splitn(6, '|').collect();
        match parts.as_slice() {
            ["v2", "r", n] => {
                let n = n.parse::<u64>().ok()?;
                // Positions past any real result set (and far from overflow) are not ours.
                (n <= MAX_RANK_POSITION).then_some(Self {
                    mode: Mode::Relevance,
                    position: Position::Rank(n),
                })
            }
            ["v2", "k", fc, dc, id, value] => {
                let field = OrderField::ALL.into_iter().find(|f| f.code() == *fc)?;
                let dir = [Direction::Asc, Direction::Desc]
                    .into_iter()
                    .find(|d| dir_code(*d) == *dc)?;
                let id = Uuid::parse_str(id).ok()?;
                if field != OrderField::Fullname {
                    value.parse::<i64>().ok()?;
                } else if value.chars().any(normalize::is_forbidden_char) {
                    return None;
                }
                Some(Self {
                    mode: Mode::Keyset(field, dir),
                    position: Position::Key {
                        value: (*value).to_owned(),
                        id,
                    },
                })
            }
            _ => None,
        }
    }
}

fn encode_cursor(mode: Mode, position: &Position) -> String {
    super::pagination::encode_cursor(&ListCursor {
        mode,
        position: position.clone(),
    })
}

fn dir_code(d: Direction) -> &'static str {
    match d {
        Direction::Asc => "a",
        Direction::Desc => "d",
    }
}

/// Decodes a cursor made for `mode`. Errors: `BAD_USER_INPUT` on `field` for garbage or a
/// cursor of another ordering.
fn decode_cursor(field: &'static str, mode: Mode, cursor: &str) -> AppResult<Position> {
    let cursor: ListCursor = super::pagination::decode_cursor(field, cursor)?;
    if cursor.mode != mode {
        return Err(invalid_cursor(field));
    }
    Ok(cursor.position)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Relevance,
    Keyset(OrderField, Direction),
}

/// What a search input turned into.
enum Search {
    /// Words, each matched as a prefix; and the input's email key for the exact-email boost.
    Words { input: String, email_key: String },
    /// Digits to find inside phone numbers.
    Phone(String),
    /// Nothing searchable (only punctuation): matches nothing.
    Nothing,
}

fn parse_search(raw: &str) -> AppResult<Option<Search>> {
    let input: String = raw.trim().nfc().collect();
    if input.is_empty() {
        return Ok(None);
    }
    if input.chars().count() > MAX_SEARCH_CHARS {
        return Err(AppError::bad_input(
            "search",
            format!("must be at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    if input.chars().any(normalize::is_forbidden_char) {
        return Err(AppError::bad_input(
            "search",
            "must not contain control characters",
        ));
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    let phone_like = input
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if phone_like && digits.len() >= 3 {
        return Ok(Some(Search::Phone(digits)));
    }
    if !input.chars().any(char::is_alphanumeric) {
        return Ok(Some(Search::Nothing));
    }
    Ok(Some(Search::Words {
        email_key: normalize::email_key(&input),
        input,
    }))
}

/// Words of `input` as an FTS5 query: each word quoted (so no FTS5 syntax can be injected)
/// with a prefix star, implicitly AND-ed.
pub(super) fn fts5_query(input: &str) -> String {
    input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PostgreSQL tsquery of `input`, built in SQL with the same normalisation as the
/// indexed text (`contacts_search_text`: unaccent, lower-case, non-alphanumerics to spaces).
pub(super) fn pg_tsquery(input: &str) -> RawSql {
    RawSql::new()
        .sql(r#"to_tsquery('simple', (SELECT string_agg(t || ':*', ' & ') FROM regexp_split_to_table(btrim(contacts_search_text("#)
        .value(input.to_owned())
        .sql(r#")), '\s+') AS t WHERE t <> ''))"#)
}

/// Bits of a SQLite `lead_fts` rowid below the project bucket: the lead's own rowid.
const FTS_PROJECT_SHIFT: u32 = 46;

/// `2^FTS_PROJECT_SHIFT - 1`: masks a `lead_fts` rowid down to the lead's rowid.
pub(super) const FTS_LEAD_ROWID_MASK: i64 = (1 << FTS_PROJECT_SHIFT) - 1;

/// The `lead_fts` rowids of `scope`'s project, `[low, high)`. Migration
/// `m20261202_000005_search_by_project` numbers a lead's FTS row `(bucket << 46) + rowid`,
/// the bucket being the first two bytes of its project id; FTS5 reads only that range of a
/// word's matches. Projects sharing a bucket share the range: the exact `project_id` filter
/// on the lead still applies.
pub(super) fn fts_rowid_range(scope: ProjectScope) -> (i64, i64) {
    let id = scope.project_id.as_bytes();
    let bucket = (i64::from(id[0]) << 8) | i64::from(id[1]);
    (
        bucket << FTS_PROJECT_SHIFT,
        (bucket + 1) << FTS_PROJECT_SHIFT,
    )
}

struct Prepared {
    select: Select<lead::Entity>,
    mode: Mode,
    /// Relevance ordering expressions (best first), before the id tie-breaker.
    rank: Vec<(SimpleExpr, Order)>,
    /// The conditions `select` applies besides the project's (SQLite's full-text search aside,
    /// which `select` joins: see `fts_condition`).
    filters: Vec<SimpleExpr>,
    /// SQLite's full-text search as a condition on the lead (`rowid IN (matches)`).
    fts_condition: Option<SimpleExpr>,
    /// The search, when a page of it is found by walking the creation-time index instead
    /// (only with `walk` asked for: then neither `select` nor `filters` match the words).
    walk: Option<SearchWalk>,
}

/// The attribute filters of `q` checked against the active definitions of their keys: one
/// statement, none when `q` has no attribute filter. Errors: `BAD_USER_INPUT`
/// (`attributeFilters`).
pub async fn attribute_conditions(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    q: &ContactQuery,
) -> AppResult<Vec<Condition>> {
    if q.attribute_filters.is_empty() {
        return Ok(Vec::new());
    }
    // Too many filters, or a bad key, fail before any key is looked up.
    let keys = attribute_filters::keys(&q.attribute_filters)?;
    let definitions = attribute_defs::active(db, scope, &keys).await?;
    attribute_filters::check(&q.attribute_filters, &definitions)
}

fn prepare(
    backend: DbBackend,
    scope: ProjectScope,
    q: &ContactQuery,
    conditions: &[Condition],
    walk: bool,
) -> AppResult<Prepared> {
    let mut select = lead::Entity::find().filter(lead::Column::ProjectId.eq(scope.project_id));
    // Every condition but the project's (the list applies them to its select; a count of many
    // queries evaluates them row by row: [`count_many`]).
    let mut filters: Vec<SimpleExpr> = Vec::new();
    let mut fts_condition = None;
    let statuses = if q.statuses.is_empty() {
        vec![lead::LeadStatus::Normal]
    } else {
        q.statuses.clone()
    };
    let stored_statuses: Vec<i32> = statuses.iter().map(|s| i32::from(*s)).collect();
    filters.push(lead::Column::Status.is_in(statuses));
    if let Some(email) = &q.email {
        // The contact with this email, or the survivor of a merged-away contact that had it:
        // `id IN (… UNION ALL …)`, both branches on the (project_id, email_key) index (an `OR`
        // here made PostgreSQL scan the whole project).
        let key = normalize::lookup_key("email", email)?;
        let mut holders = sea_orm::sea_query::Query::select()
            .column(lead::Column::Id)
            .from(lead::Entity)
            .and_where(lead::Column::ProjectId.eq(scope.project_id))
            .and_where(lead::Column::EmailKey.eq(key.clone()))
            .to_owned();
        let absorbed = sea_orm::sea_query::Query::select()
            .column(lead::Column::MergedInto)
            .from(lead::Entity)
            .and_where(lead::Column::ProjectId.eq(scope.project_id))
            .and_where(lead::Column::EmailKey.eq(key))
            .and_where(lead::Column::MergedInto.is_not_null())
            .to_owned();
        holders.union(sea_orm::sea_query::UnionType::All, absorbed);
        filters.push(lead::Column::Id.in_subquery(holders));
    }
    if let Some(after) = q.created_after {
        filters.push(lead::Column::CreatedAt.gte(after));
    }
    if let Some(before) = q.created_before {
        filters.push(lead::Column::CreatedAt.lt(before));
    }
    match (q.owner, q.unassigned) {
        (Some(_), Some(true)) => {
            return Err(AppError::bad_input(
                "unassigned",
                "cannot be combined with `owner`",
            ));
        }
        (Some(owner), _) => filters.push(lead::Column::OwnerId.eq(owner)),
        (None, Some(true)) => filters.push(lead::Column::OwnerId.is_null()),
        (None, Some(false)) => filters.push(lead::Column::OwnerId.is_not_null()),
        (None, None) => {}
    }
    if let Some(company) = &q.company_id {
        let company = normalize::uuid("companyId", company)?;
        filters.push(lead::Column::CompanyId.eq(company));
    }
    match q.has_email {
        Some(true) => filters.push(lead::Column::EmailKey.is_not_null()),
        Some(false) => filters.push(lead::Column::EmailKey.is_null()),
        None => {}
    }
    let tags = normalize::tags("tags", &q.tags)?;
    for tag in tags {
        let sql = match backend {
            DbBackend::Postgres => {
                r#"EXISTS (SELECT 1 FROM jsonb_array_elements_text("lead"."tags") AS t(v) WHERE lower(t.v) = "#
            }
            _ => r#"EXISTS (SELECT 1 FROM json_each("lead"."tags") AS t WHERE lower(t.value) = "#,
        };
        let exists = RawSql::new().sql(sql).value(tag.to_lowercase()).sql(")");
        filters.push(exists.into_expr(backend));
    }
    if let Some((key, value)) = &q.attribute {
        let key = normalize::attribute_key("attribute", key)?;
        if value
            .as_str()
            .is_some_and(|s| s.chars().any(normalize::is_forbidden_char))
        {
            return Err(AppError::bad_input(
                "attribute",
                "must not contain control characters",
            ));
        }
        if !(value.is_string() || value.is_number() || value.is_boolean()) {
            return Err(AppError::bad_input(
                "attribute",
                "equals must be a string, number or boolean",
            ));
        }
        let json = value.to_string();
        let equals = match backend {
            DbBackend::Postgres => RawSql::new()
                .sql(r#"("lead"."attributes" -> "#)
                .value(key)
                .sql(") = CAST(")
                .value(json)
                .sql(" AS jsonb)"),
            _ => RawSql::new()
                .sql(r#"("lead"."attributes" -> "#)
                .value(format!("$.\"{key}\""))
                .sql(") = ")
                .value(json),
        };
        filters.push(equals.into_expr(backend));
    }
    for condition in conditions {
        filters.push(condition.sql(backend).into_expr(backend));
    }

    let mut rank = Vec::new();
    let search = q.search.as_deref().map(parse_search).transpose()?.flatten();
    // Words, ordered by creation time, with no filter but the statuses: a page walks the
    // creation-time index (`search_walk`).
    let search_walk = match &search {
        Some(Search::Words { input, .. })
            if walk
                && filters.len() == 1
                && matches!(q.order, Some((OrderField::CreatedAt, _))) =>
        {
            Some(SearchWalk {
                input: input.clone(),
                statuses: stored_statuses,
                scope,
            })
        }
        _ => None,
    };
    match &search {
        Some(Search::Words { .. }) if search_walk.is_some() => {}
        None => {}
        Some(Search::Nothing) => filters.push(Expr::cust("1 = 0")),
        Some(Search::Phone(digits)) => {
            filters.push(lead::Column::Phone.contains(digits.as_str()));
            let ends_with = RawSql::new()
                .sql(r#"CASE WHEN "lead"."phone" LIKE "#)
                .value(format!("%{digits}"))
                .sql(" THEN 0 ELSE 1 END");
            rank.push((ends_with.into_expr(backend), Order::Asc));
        }
        Some(Search::Words { input, email_key }) => {
            let exact_email = RawSql::new()
                .sql(r#"CASE WHEN "lead"."email_key" = "#)
                .value(email_key.clone())
                .sql(" THEN 0 ELSE 1 END");
            rank.push((exact_email.into_expr(backend), Order::Asc));
            match backend {
                DbBackend::Postgres => {
                    // With the project filter, one scan of the GIN index on
                    // (project_id, search_vector) (migration m20261202_000005).
                    let tsquery = pg_tsquery(input);
                    let matches = RawSql::new()
                        .sql(r#""lead"."search_vector" @@ "#)
                        .append(&tsquery);
                    filters.push(matches.into_expr(backend));
                    let ts_rank = RawSql::new()
                        .sql(r#"ts_rank("lead"."search_vector", "#)
                        .append(&tsquery)
                        .sql(")");
                    rank.push((ts_rank.into_expr(backend), Order::Desc));
                }
                _ => {
                    // The full-text query runs once, in a subquery (its LIMIT keeps SQLite from
                    // flattening it, which would re-run MATCH for every lead of the project).
                    // Only the project's rowid range of the index is read (see
                    // `fts_rowid_range`); the lead's rowid is the low bits.
                    let (low, high) = fts_rowid_range(scope);
                    let mut fts = sea_orm::sea_query::Query::select();
                    fts.expr_as(
                        Expr::cust(format!("rowid & {FTS_LEAD_ROWID_MASK}")),
                        Alias::new("fts_rowid"),
                    )
                    .expr_as(Expr::cust("rank"), Alias::new("fts_rank"))
                    .from(Alias::new("lead_fts"))
                    .and_where(
                        RawSql::new()
                            .sql(r#""lead_fts" MATCH "#)
                            .value(fts5_query(input))
                            .into_expr(backend),
                    )
                    .and_where(Expr::cust("rowid").gte(low))
                    .and_where(Expr::cust("rowid").lt(high))
                    .limit(i64::MAX as u64);
                    // FROM the matches, then each lead by rowid (a primary-key seek): the
                    // work grows with the matches, not with the project.
                    // SQLite keeps the left operand of a CROSS JOIN as the outer loop;
                    // without it, newer planners walk the whole project by its index and
                    // probe the matches for each lead.
                    // The same matches as a condition on the lead (for a count of many queries).
                    let mut ids = fts.clone();
                    ids.clear_selects()
                        .expr(Expr::cust(format!("rowid & {FTS_LEAD_ROWID_MASK}")));
                    fts_condition = Some(Expr::cust(r#""lead"."rowid""#).in_subquery(ids));
                    QueryTrait::query(&mut select)
                        .from_clear()
                        .from_subquery(fts, Alias::new("fts"))
                        .cross_join(lead::Entity)
                        .and_where(Expr::cust(r#""lead"."rowid" = "fts"."fts_rowid""#));
                    rank.push((Expr::cust(r#""fts"."fts_rank""#), Order::Asc));
                }
            }
        }
    }
    let mode = match (q.order, &search) {
        (Some((f, d)), _) => Mode::Keyset(f, d),
        (None, Some(_)) => Mode::Relevance,
        (None, None) => Mode::Keyset(OrderField::CreatedAt, Direction::Desc),
    };
    for filter in &filters {
        select = select.filter(filter.clone());
    }
    Ok(Prepared {
        select,
        mode,
        rank,
        filters,
        fts_condition,
        walk: search_walk,
    })
}

/// One page of the contacts of `scope` matching `q`, with the relations `nested` asks for
/// fetched in the same statement (into [`ContactPage::prefetched`]). Costs one statement
/// (two for a backward relevance page without a cursor: it counts first), plus one that reads
/// the definitions of the keys of `q`'s attribute filters when it has any.
/// Errors: `BAD_USER_INPUT` (`search`, `tags`, `attribute`, `attributeFilters`, `after`,
/// `before`).
pub async fn list(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    q: &ContactQuery,
    page: PageRequest,
    nested: &Nested,
) -> AppResult<ContactPage> {
    let backend = db.get_database_backend();
    let conditions = attribute_conditions(db, scope, q).await?;
    let Prepared {
        select,
        mode,
        rank,
        walk,
        ..
    } = prepare(backend, scope, q, &conditions, true)?;
    let (size, backward, cursor) = match page {
        PageRequest::Forward { first, after } => (
            first,
            false,
            after
                .map(|c| decode_cursor("after", mode, &c))
                .transpose()?,
        ),
        PageRequest::Backward { last, before } => (
            last,
            true,
            before
                .map(|c| decode_cursor("before", mode, &c))
                .transpose()?,
        ),
    };
    if size == 0 {
        return Ok(ContactPage {
            rows: Vec::new(),
            cursors: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
            prefetched: Prefetched::default(),
            conditions,
        });
    }
    // The order's key is read back from each row for its cursor.
    let mut nested = *nested;
    nested.lead_columns = match mode {
        Mode::Keyset(OrderField::UpdatedAt, _) => nested.lead_columns.with(lead::Column::UpdatedAt),
        Mode::Keyset(OrderField::LastRequestAt, _) => {
            nested.lead_columns.with(lead::Column::LastRequestAt)
        }
        _ => nested.lead_columns,
    };
    let select = nested.lead_columns.project(select);
    let nested = (&nested, scope);
    let mut page = match mode {
        Mode::Relevance => relevance_page(db, select, rank, size, backward, cursor, nested).await,
        Mode::Keyset(field, dir) => {
            keyset_page(
                db,
                select,
                (field, dir),
                (size, backward, cursor),
                walk,
                nested,
            )
            .await
        }
    }?;
    page.conditions = conditions;
    Ok(page)
}

/// The statement of one page: `select` ordered by `order`, from row `offset`, at most
/// `limit` rows, with the columns of `nested` (for `scope`). PostgreSQL evaluates the nested
/// subqueries only for the rows kept (it postpones costly select-list expressions past the
/// sort under a `LIMIT`). SQLite evaluates result columns before its sorter and sorts whole
/// rows, so there the page is chosen first on rowids and sort values alone (a subquery
/// `page`), then its rows are read by rowid and the nested columns added (late
/// materialization: sorting 2,500 search candidates' full rows cost more than the search);
/// the first sort value is also returned as `sort_key`.
fn page_statement(
    mut select: Select<lead::Entity>,
    backend: DbBackend,
    order: Vec<(SimpleExpr, Order)>,
    (offset, limit): (u64, u64),
    (nested, scope): (&Nested, ProjectScope),
) -> sea_orm::Statement {
    if backend == DbBackend::Postgres {
        select = nested.with_columns(select, backend, scope);
        for (expr, dir) in order {
            select = select.order_by(expr, dir);
        }
        return paged(select, offset, limit).build(backend);
    }
    QueryTrait::query(&mut select)
        .clear_selects()
        .expr_as(Expr::cust(r#""lead"."rowid""#), Alias::new("page_rowid"));
    let mut outer_order = Vec::with_capacity(order.len());
    for (i, (expr, dir)) in order.into_iter().enumerate() {
        let alias = format!("page_order_{i}");
        select = select.column_as(expr.clone(), alias.as_str());
        select = select.order_by(expr, dir.clone());
        outer_order.push((Expr::cust(format!(r#""page"."{alias}""#)), dir));
    }
    let inner = paged(select, offset, limit).into_query();
    let mut outer = sea_orm::sea_query::Query::select();
    nested.lead_columns.add_to(&mut outer);
    outer
        .expr_as(
            Expr::cust(r#""page"."page_order_0""#),
            Alias::new("sort_key"),
        )
        .from_subquery(inner, Alias::new("page"))
        .inner_join(
            lead::Entity,
            Expr::cust(r#""lead"."rowid" = "page"."page_rowid""#),
        );
    for (expr, alias) in nested.columns(backend, scope) {
        outer.expr_as(expr, Alias::new(alias));
    }
    for (expr, dir) in outer_order {
        outer.order_by_expr(expr, dir);
    }
    backend.build(&outer)
}

/// `select` from row `offset` (no `OFFSET` clause at 0: PostgreSQL never settles on a
/// generic plan for a prepared statement with a bound `OFFSET`, so it would plan the
/// statement again on every execution), at most `limit` rows.
fn paged(select: Select<lead::Entity>, offset: u64, limit: u64) -> Select<lead::Entity> {
    let select = if offset > 0 {
        select.offset(offset)
    } else {
        select
    };
    select.limit(limit)
}

/// Reads the lead of each raw row, with the `nested` columns into `prefetched`.
fn read_rows(
    raw: &[sea_orm::QueryResult],
    nested: &Nested,
    prefetched: &mut Prefetched,
) -> Result<Vec<lead::Model>, sea_orm::DbErr> {
    let mut rows = Vec::with_capacity(raw.len());
    for r in raw {
        let model = nested.lead_columns.read(r)?;
        nested.read(r, &model, prefetched)?;
        rows.push(model);
    }
    Ok(rows)
}

async fn relevance_page(
    db: &impl ConnectionTrait,
    select: Select<lead::Entity>,
    rank: Vec<(SimpleExpr, Order)>,
    size: u64,
    backward: bool,
    cursor: Option<Position>,
    nested: (&Nested, ProjectScope),
) -> AppResult<ContactPage> {
    let pos = match cursor {
        Some(Position::Rank(n)) => Some(n),
        _ => None,
    };
    // Absolute positions [start, end) of the page.
    let (start, want) = match (backward, pos) {
        (false, None) => (0, size),
        (false, Some(p)) => (p + 1, size),
        (true, Some(p)) => (p.saturating_sub(size), std::cmp::min(p, size)),
        (true, None) => {
            let total = select.clone().count(db).await?;
            (total.saturating_sub(size), std::cmp::min(size, total))
        }
    };
    let backend = db.get_database_backend();
    let mut order = rank;
    order.push((Expr::col((lead::Entity, lead::Column::Id)), Order::Asc));
    let stmt = page_statement(select, backend, order, (start, want + 1), nested);
    let raw = db.query_all_raw(stmt).await?;
    let mut prefetched = Prefetched::default();
    let mut rows = read_rows(&raw, nested.0, &mut prefetched)?;
    let has_more_after = rows.len() as u64 > want;
    rows.truncate(want as usize);
    let cursors = (0..rows.len() as u64)
        .map(|i| encode_cursor(Mode::Relevance, &Position::Rank(start + i)))
        .collect();
    Ok(ContactPage {
        rows,
        cursors,
        has_next_page: has_more_after,
        has_previous_page: start > 0,
        prefetched,
        conditions: Vec::new(),
    })
}

async fn keyset_page(
    db: &impl ConnectionTrait,
    mut select: Select<lead::Entity>,
    (field, dir): (OrderField, Direction),
    (size, backward, cursor): (u64, bool, Option<Position>),
    walk: Option<SearchWalk>,
    nested: (&Nested, ProjectScope),
) -> AppResult<ContactPage> {
    let backend = db.get_database_backend();
    let sort = sort_sql(field, backend);
    // Reading backward flips the direction; rows are reversed back at the end.
    let effective_desc = (dir == Direction::Desc) != backward;
    let (op, order) = if effective_desc {
        (BinOper::SmallerThan, Order::Desc)
    } else {
        (BinOper::GreaterThan, Order::Asc)
    };
    if let Some(Position::Key { value, id }) = &cursor {
        select = select.filter(keyset_condition(field, backend, op, (value, *id)));
    }
    if let Some(walk) = walk {
        let after = match &cursor {
            Some(Position::Key { value, id }) => Some((key_value(field, value), *id)),
            _ => None,
        };
        let page = WalkPage {
            desc: effective_desc,
            after,
            limit: size + 1,
        };
        select = select.filter(walk.condition(backend, &page));
    }
    if field == OrderField::Fullname {
        select = select.column_as(Expr::cust(sort), "sort_key");
    }
    let by = vec![
        (Expr::cust(sort), order.clone()),
        (Expr::col((lead::Entity, lead::Column::Id)), order),
    ];
    let stmt = page_statement(select, backend, by, (0, size + 1), nested);
    let raw = db.query_all_raw(stmt).await?;
    let mut prefetched = Prefetched::default();
    let models = read_rows(&raw, nested.0, &mut prefetched)?;
    let mut rows = Vec::with_capacity(raw.len());
    for (r, model) in raw.iter().zip(models) {
        let key = if field == OrderField::Fullname {
            r.try_get::<String>("", "sort_key")?
        } else {
            let at = match field {
                OrderField::CreatedAt => model.created_at,
                OrderField::UpdatedAt => model.updated_at,
                _ => model.last_request_at.unwrap_or_else(no_request_sentinel),
            };
            at.timestamp_micros().to_string()
        };
        rows.push((model, key));
    }
    let has_more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if backward {
        rows.reverse();
    }
    let mode = Mode::Keyset(field, dir);
    let cursors = rows
        .iter()
        .map(|(m, key)| {
            encode_cursor(
                mode,
                &Position::Key {
                    value: key.clone(),
                    id: m.id,
                },
            )
        })
        .collect();
    let (has_next_page, has_previous_page) = if backward {
        (cursor.is_some(), has_more)
    } else {
        (has_more, cursor.is_some())
    };
    Ok(ContactPage {
        rows: rows.into_iter().map(|(m, _)| m).collect(),
        cursors,
        has_next_page,
        has_previous_page,
        prefetched,
        conditions: Vec::new(),
    })
}

/// Rows strictly past the keyset position `(value, id)` in direction `op` (`<` or `>`):
/// `(sort op value) OR (sort = value AND id op id)`.
fn keyset_condition(
    field: OrderField,
    backend: DbBackend,
    op: BinOper,
    (value, id): (&str, Uuid),
) -> SimpleExpr {
    let sort = || Expr::cust(sort_sql(field, backend));
    let v = key_value(field, value);
    sort().binary(op, v.clone()).or(sort()
        .eq(v)
        .and(Expr::col((lead::Entity, lead::Column::Id)).binary(op, id)))
}

/// The bind value of a cursor's sort key.
fn key_value(field: OrderField, value: &str) -> DbValue {
    match field {
        OrderField::Fullname => DbValue::from(value.to_owned()),
        _ => {
            let at = value
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_micros)
                .unwrap_or_else(no_request_sentinel);
            DbValue::from(at)
        }
    }
}

/// How many contacts of `scope` match `q` (one statement, plus one for the definitions when
/// `q` has attribute filters). Errors: as [`list`].
pub async fn count(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    q: &ContactQuery,
) -> AppResult<u64> {
    let conditions = attribute_conditions(db, scope, q).await?;
    count_checked(db, scope, q, &conditions).await
}

/// How many contacts of `scope` match `q` whose attribute filters were already checked into
/// `conditions` (a page's [`ContactPage::conditions`]: the connection's `totalCount`). One
/// statement. Errors: as [`list`].
pub async fn count_checked(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    q: &ContactQuery,
    conditions: &[Condition],
) -> AppResult<u64> {
    let prepared = prepare(db.get_database_backend(), scope, q, conditions, false)?;
    Ok(prepared.select.count(db).await?)
}

/// How many contacts of `scope` match each of `queries`, in order, in ONE statement that reads
/// the project's contacts once and counts every query's matches on the way (`SUM(CASE WHEN
/// <query's conditions> THEN 1 ELSE 0 END)` per query): the live `contactsCount` of a list of
/// segments costs one pass over the project however many segments there are (11 separate
/// counts cost 11 passes or index scans: bench/RESULTS.md, 2026-12-07). Plus one statement
/// that reads the definitions of every attribute-filtered key when there are any. Errors:
/// `BAD_USER_INPUT` as [`list`] for an invalid query.
pub async fn count_many(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    queries: &[&ContactQuery],
) -> AppResult<Vec<u64>> {
    use sea_orm::sea_query::{CaseStatement, Condition as Cond, Func, Query};
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    // The definitions of every attribute-filtered key, read once for all the queries.
    let mut keys = Vec::new();
    for q in queries {
        for key in attribute_filters::keys(&q.attribute_filters)? {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let definitions = if keys.is_empty() {
        Default::default()
    } else {
        attribute_defs::active(db, scope, &keys).await?
    };
    let mut stmt = Query::select();
    for (i, q) in queries.iter().enumerate() {
        let conditions = attribute_filters::check(&q.attribute_filters, &definitions)?;
        let prepared = prepare(backend, scope, q, &conditions, false)?;
        let mut all = Cond::all();
        for filter in prepared.filters.into_iter().chain(prepared.fts_condition) {
            all = all.add(filter);
        }
        // Constants, not bound values: PostgreSQL must see integers to sum (an untyped
        // parameter in a CASE would be text).
        let hit = CaseStatement::new()
            .case(all, Expr::cust("1"))
            .finally(Expr::cust("0"));
        stmt.expr_as(
            Func::coalesce([SimpleExpr::from(Func::sum(hit)), Expr::cust("0")]),
            Alias::new(format!("n{i}")),
        );
    }
    stmt.from(lead::Entity)
        .and_where(Expr::col((lead::Entity, lead::Column::ProjectId)).eq(scope.project_id));
    let row = db
        .query_one_raw(backend.build(&stmt))
        .await?
        .ok_or_else(|| AppError::internal("a count returned no row"))?;
    (0..queries.len())
        .map(|i| {
            let n: i64 = row.try_get("", &format!("n{i}"))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .collect()
}

/// Checks `q` as [`list`] would (search input, tags, attribute keys and typed attribute
/// filters against their definitions, filter combinations) without running it (one
/// statement when `q` has attribute filters). Errors: `BAD_USER_INPUT` naming the bad filter.
pub async fn check(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    q: &ContactQuery,
) -> AppResult<()> {
    let conditions = attribute_conditions(db, scope, q).await?;
    prepare(db.get_database_backend(), scope, q, &conditions, false).map(|_| ())
}

/// The ids of up to `limit` contacts of `scope` matching `q`, created at or before
/// `created_until`, with ids greater than `after` (when given), in id order, locked `FOR
/// UPDATE` on PostgreSQL: one batch of a bulk job (one statement, plus one for the definitions
/// of attribute-filtered keys). Errors: `BAD_USER_INPUT` as [`list`].
pub async fn batch_ids(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    q: &ContactQuery,
    created_until: DateTime<Utc>,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<Uuid>> {
    let backend = db.get_database_backend();
    let conditions = attribute_conditions(db, scope, q).await?;
    let mut select = prepare(backend, scope, q, &conditions, false)?
        .select
        .filter(lead::Column::CreatedAt.lte(created_until));
    if let Some(after) = after {
        select = select.filter(lead::Column::Id.gt(after));
    }
    QueryTrait::query(&mut select).clear_selects().expr_as(
        Expr::col((lead::Entity, lead::Column::Id)),
        Alias::new("id"),
    );
    let mut select = select.order_by_asc(lead::Column::Id).limit(limit);
    if backend == DbBackend::Postgres {
        select = select.lock_exclusive();
    }
    let rows = db.query_all_raw(select.build(backend)).await?;
    rows.iter()
        .map(|r| r.try_get::<Uuid>("", "id").map_err(AppError::from))
        .collect()
}

impl ContactQuery {
    /// This query AND `other` (a saved segment's filters with a list's own arguments): tags
    /// and every list-valued filter are combined; created-at bounds narrowed; statuses
    /// intersected; a single-valued filter both give must be the same. `order` is this
    /// query's, else `other`'s. Errors: `BAD_USER_INPUT` naming a filter both set
    /// differently (or statuses with nothing in common).
    pub fn and(mut self, other: ContactQuery) -> AppResult<ContactQuery> {
        fn one<T: PartialEq>(
            field: &'static str,
            a: Option<T>,
            b: Option<T>,
        ) -> AppResult<Option<T>> {
            match (a, b) {
                (Some(a), Some(b)) if a != b => Err(AppError::bad_input(
                    field,
                    "differs from the segment's own filter",
                )),
                (a, b) => Ok(a.or(b)),
            }
        }
        self.search = one("search", self.search, other.search)?;
        self.email = one("email", self.email, other.email)?;
        self.has_email = one("hasEmail", self.has_email, other.has_email)?;
        self.attribute = one("attribute", self.attribute, other.attribute)?;
        self.owner = one("owner", self.owner, other.owner)?;
        self.unassigned = one("unassigned", self.unassigned, other.unassigned)?;
        self.company_id = one("companyId", self.company_id, other.company_id)?;
        self.tags.extend(other.tags);
        self.attribute_filters.extend(other.attribute_filters);
        self.created_after = Ord::max(self.created_after, other.created_after);
        self.created_before = match (self.created_before, other.created_before) {
            (Some(a), Some(b)) => Some(Ord::min(a, b)),
            (a, b) => a.or(b),
        };
        self.statuses = match (self.statuses.is_empty(), other.statuses.is_empty()) {
            (_, true) => self.statuses,
            (true, false) => other.statuses,
            (false, false) => {
                let both: Vec<lead::LeadStatus> = self
                    .statuses
                    .into_iter()
                    .filter(|s| other.statuses.contains(s))
                    .collect();
                if both.is_empty() {
                    return Err(AppError::bad_input(
                        "status",
                        "has no status in common with the segment's",
                    ));
                }
                both
            }
        };
        self.order = self.order.or(other.order);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_query_quotes_words_as_prefixes() {
        assert_eq!(
            fts5_query("andrea+test@example.com"),
            r#""andrea"* "test"* "example"* "com"*"#
        );
        assert_eq!(fts5_query("Álv \"OR\" x"), r#""Álv"* "OR"* "x"*"#);
    }

    #[test]
    fn fts_rowid_range_is_the_project_bucket() {
        let scope = |s: &str| ProjectScope::operator(Uuid::parse_str(s).unwrap());
        let (low, high) = fts_rowid_range(scope("abcd0000-0000-4000-8000-000000000001"));
        assert_eq!((low, high), (0xabcd << 46, 0xabce << 46));
        assert_eq!(low & FTS_LEAD_ROWID_MASK, 0);
        let (low, high) = fts_rowid_range(scope("ffffffff-ffff-4fff-bfff-ffffffffffff"));
        assert_eq!((low, high), (0xffff << 46, 1 << 62));
    }

    #[test]
    fn search_input_kinds() {
        assert!(
            matches!(parse_search("+39 06 6988").unwrap(), Some(Search::Phone(d)) if d == "39066988")
        );
        assert!(parse_search("  ").unwrap().is_none());
        assert!(matches!(parse_search("@@").unwrap(), Some(Search::Nothing)));
        assert!(
            matches!(parse_search("Foo@X.com").unwrap(), Some(Search::Words { email_key, .. }) if email_key == "foo@x.com")
        );
    }

    #[test]
    fn keyset_condition_keeps_the_other_filters() {
        // The OR of the keyset condition stays inside the AND of the tenant and status filters.
        use sea_orm::QueryTrait;
        let scope = ProjectScope::operator(Uuid::nil());
        let q = ContactQuery {
            order: Some((OrderField::Fullname, Direction::Asc)),
            ..Default::default()
        };
        let prepared = prepare(DbBackend::Postgres, scope, &q, &[], false).unwrap();
        let select = prepared.select.filter(keyset_condition(
            OrderField::Fullname,
            DbBackend::Postgres,
            BinOper::GreaterThan,
            ("ann", Uuid::nil()),
        ));
        let sql = select.build(DbBackend::Postgres).to_string();
        assert!(
            sql.ends_with(
                r#"WHERE "lead"."project_id" = '00000000-0000-0000-0000-000000000000' AND "lead"."status" IN (100) AND ((COALESCE(LOWER("lead"."fullname"), '')) > 'ann' OR ((COALESCE(LOWER("lead"."fullname"), '')) = 'ann' AND "lead"."id" > '00000000-0000-0000-0000-000000000000'))"#
            ),
            "{sql}"
        );
    }

    #[test]
    fn queries_saved_before_attribute_filters_still_read() {
        let old: ContactQuery = serde_json::from_value(serde_json::json!({
            "search": "ann", "attribute": ["plan", "pro"]
        }))
        .unwrap();
        assert!(old.attribute_filters.is_empty());
        assert_eq!(
            old.attribute,
            Some(("plan".to_owned(), serde_json::json!("pro")))
        );
        let q = ContactQuery {
            attribute_filters: vec![
                serde_json::from_value(serde_json::json!({ "key": "score", "gt": 9 })).unwrap(),
            ],
            ..Default::default()
        };
        let back: ContactQuery = serde_json::from_value(serde_json::to_value(&q).unwrap()).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn cursors_are_bound_to_their_ordering() {
        let mode = Mode::Keyset(OrderField::Fullname, Direction::Asc);
        let pos = Position::Key {
            value: "a|b".into(),
            id: Uuid::nil(),
        };
        let c = encode_cursor(mode, &pos);
        assert_eq!(decode_cursor("after", mode, &c).unwrap(), pos);
        assert!(
            decode_cursor(
                "after",
                Mode::Keyset(OrderField::Fullname, Direction::Desc),
                &c
            )
            .is_err()
        );
        assert!(decode_cursor("after", Mode::Relevance, &c).is_err());
        assert!(decode_cursor("after", mode, "bm9wZQ").is_err());
        use base64::Engine;
        let huge =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v2|r|{}", u64::MAX));
        assert!(decode_cursor("after", Mode::Relevance, &huge).is_err());
    }
}
