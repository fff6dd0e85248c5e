//! One statement per read: the nested relations a contact selection asks for (a page of its
//! Requests, their count, the ids merged into it, its company) come back as extra columns of the contact
//! rows themselves — correlated scalar subqueries that aggregate into JSON text
//! (PostgreSQL `json_agg`, SQLite `json_group_array`), the way PostGraphile builds its one
//! statement per GraphQL request.
//!
//! [`Nested`] says what to fetch; list and lookup functions add its columns to their `SELECT`
//! ([`Nested::columns`]) and read them back per row ([`Nested::read`]) into [`Prefetched`],
//! which the GraphQL layer feeds to its DataLoaders' caches. Each subquery runs only for the
//! rows returned: it sits in the select list, above `ORDER BY … LIMIT` (PostgreSQL postpones
//! costly select-list expressions past a sort under a `LIMIT`; SQLite evaluates result
//! columns per output row of an index-ordered scan).

use chrono::{DateTime, Utc};
use entity::{company, lead, request};
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{DbBackend, DbErr, QueryResult, QuerySelect, Select, Value as DbValue};
use serde_json::Value;
use uuid::Uuid;

use super::pagination::{Page, PageArgs};
pub use super::projection::{LeadColumns, RequestColumns};
use super::store::requests::cursor_of;
use super::{ProjectScope, RawSql};

/// Column alias of the Requests page.
const REQUESTS: &str = "nested_requests";
/// Column alias of the Requests count.
const REQUESTS_COUNT: &str = "nested_requests_count";
/// Column alias of the merged-in ids.
const MERGED_FROM: &str = "nested_merged_from";
/// Column alias of the company.
const COMPANY: &str = "nested_company";

/// The columns of each contact row and the nested relations to fetch with it. The default
/// fetches whole rows and no relation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nested {
    /// The Lead's columns to fetch (the rest are left at placeholders).
    pub lead_columns: LeadColumns,
    /// One page of each contact's Requests, newest first.
    pub requests: Option<PageArgs>,
    /// The columns of that page's Requests to fetch (the rest are left at placeholders).
    pub request_columns: RequestColumns,
    /// Each contact's number of Requests.
    pub requests_count: bool,
    /// The ids of the contacts merged into each one.
    pub merged_from: bool,
    /// Each contact's company (the row of `lead.company_id`: the Lead's columns must hold
    /// `company_id` where the statement reads them from a derived table).
    pub company: bool,
    /// Only the Requests this user opened (a visitor's own conversations), in pages and
    /// counts.
    pub requester: Option<Uuid>,
}

/// What [`Nested`] fetched, per contact (Lead) id, in row order (it may hold one row more
/// than the page: the over-fetched row that tells a next page exists).
#[derive(Clone, Debug, Default)]
pub struct Prefetched {
    /// The page asked for ([`Nested::requests`]) and each contact's page of it.
    pub request_pages: Vec<(Uuid, Page<request::Model>)>,
    /// Each contact's number of Requests.
    pub request_counts: Vec<(Uuid, u64)>,
    /// The ids merged into each contact, ascending.
    pub merged_from: Vec<(Uuid, Vec<Uuid>)>,
    /// The companies of the contacts (each once).
    pub companies: Vec<company::Model>,
}

/// One company of [`COMPANY`]'s JSON array: every column but `project_id` (the contact's), in
/// this order.
type CompanyTuple = (
    Uuid,
    String,
    String,
    Option<String>,
    Value,
    i32,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// The columns of one prefetched Request's JSON array, in the order of [`RequestTuple`]:
/// (column, SQLite's function around it, the bit that selects it).
const REQUEST_ARRAY: [(&str, Option<&str>, RequestColumns); 10] = [
    ("id", Some("hex"), RequestColumns::NONE),
    ("request_id", None, RequestColumns::REQUEST_ID),
    ("requester_id", Some("hex"), RequestColumns::REQUESTER_ID),
    ("first_text", None, RequestColumns::FIRST_TEXT),
    ("status", None, RequestColumns::STATUS),
    ("channel", None, RequestColumns::CHANNEL),
    ("attributes", Some("json"), RequestColumns::ATTRIBUTES),
    ("created_at", None, RequestColumns::NONE),
    ("updated_at", None, RequestColumns::UPDATED_AT),
    ("closed_at", None, RequestColumns::CLOSED_AT),
];

/// One Request of a JSON page: every column but `project_id` and `lead` (the parent's), in
/// this order; the optional ones `null` when not fetched.
type RequestTuple = (
    Uuid,
    Option<String>,
    Option<Uuid>,
    Option<String>,
    Option<i32>,
    Option<String>,
    Value,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// For a page of Requests with `columns`: the `json_build_array(…)` / `json_array(…)` of one
/// row `"r"` (`NULL` in place of the others), and the inner select list those need (the
/// keyset's `"created_at"` and `"id"` among them).
fn request_array(pg: bool, columns: RequestColumns) -> (String, String) {
    let mut items = Vec::with_capacity(REQUEST_ARRAY.len());
    let mut fetched = Vec::with_capacity(REQUEST_ARRAY.len());
    for &(column, sqlite_function, bit) in &REQUEST_ARRAY {
        if !columns.has(bit) {
            items.push("NULL".to_owned());
            continue;
        }
        fetched.push(format!(r#""{column}""#));
        items.push(match sqlite_function {
            Some(function) if !pg => format!(r#"{function}("r"."{column}")"#),
            _ => format!(r#""r"."{column}""#),
        });
    }
    let function = if pg { "json_build_array" } else { "json_array" };
    (
        format!("{function}({})", items.join(", ")),
        fetched.join(", "),
    )
}

impl Nested {
    /// `select` (a `SELECT … FROM "lead"` of `scope`) with [`Nested::columns`] added.
    pub fn with_columns(
        &self,
        mut select: Select<lead::Entity>,
        backend: DbBackend,
        scope: ProjectScope,
    ) -> Select<lead::Entity> {
        for (expr, alias) in self.columns(backend, scope) {
            select = select.column_as(expr, alias);
        }
        select
    }

    /// The extra select-list columns (expression, alias) for a `SELECT … FROM "lead"` of
    /// `scope` on `backend`; each correlates on `"lead"."id"` and filters by `project_id`.
    pub fn columns(
        &self,
        backend: DbBackend,
        scope: ProjectScope,
    ) -> Vec<(SimpleExpr, &'static str)> {
        let pg = backend == DbBackend::Postgres;
        let project = DbValue::from(scope.project_id);
        let mut out = Vec::new();
        let mut filter = RawSql::new()
            .sql(r#""project_id" = "#)
            .value(project.clone())
            .sql(r#" AND "lead" = "lead"."id""#);
        if let Some(requester) = self.requester {
            filter = filter.sql(r#" AND "requester_id" = "#).value(requester);
        }
        if let Some(page) = self.requests.filter(|p| p.first > 0) {
            let mut page_filter = filter.clone();
            if let Some(after) = page.after {
                page_filter = page_filter
                    .sql(r#" AND ("created_at" < "#)
                    .value(after.created_at)
                    .sql(r#" OR ("created_at" = "#)
                    .value(after.created_at)
                    .sql(r#" AND "id" < "#)
                    .value(after.id)
                    .sql("))");
            }
            let (array, fetched) = request_array(pg, self.request_columns);
            let aggregate = if pg {
                format!("(SELECT coalesce(json_agg({array}), '[]')::text FROM (")
            } else {
                format!("(SELECT json_group_array({array}) FROM (")
            };
            let sql = RawSql::new()
                .sql(aggregate)
                .sql(format!(r#"SELECT {fetched} FROM "request" WHERE "#))
                .append(&page_filter)
                .sql(r#" ORDER BY "created_at" DESC, "id" DESC LIMIT "#)
                .value(page.first as i64 + 1)
                .sql(r#") AS "r")"#);
            out.push((sql.into_expr(backend), REQUESTS));
        }
        if self.requests_count {
            let sql = RawSql::new()
                .sql(r#"(SELECT count(*) FROM "request" WHERE "#)
                .append(&filter)
                .sql(")");
            out.push((sql.into_expr(backend), REQUESTS_COUNT));
        }
        if self.merged_from {
            let aggregate = if pg {
                r#"(SELECT coalesce(json_agg("m"."id"), '[]')::text FROM "lead" AS "m" WHERE "m"."project_id" = "#
            } else {
                r#"(SELECT json_group_array(hex("m"."id")) FROM "lead" AS "m" WHERE "m"."project_id" = "#
            };
            let sql = RawSql::new()
                .sql(aggregate)
                .value(project)
                .sql(r#" AND "m"."merged_into" = "lead"."id")"#);
            out.push((sql.into_expr(backend), MERGED_FROM));
        }
        if self.company {
            let row = if pg {
                r#"(SELECT json_build_array("c"."id", "c"."name", "c"."name_key", "c"."domain", "c"."attributes", "c"."version", "c"."created_at", "c"."updated_at")::text FROM "company" AS "c" WHERE "c"."project_id" = "#
            } else {
                r#"(SELECT json_array(hex("c"."id"), "c"."name", "c"."name_key", "c"."domain", json("c"."attributes"), "c"."version", "c"."created_at", "c"."updated_at") FROM "company" AS "c" WHERE "c"."project_id" = "#
            };
            let sql = RawSql::new()
                .sql(row)
                .value(scope.project_id)
                .sql(r#" AND "c"."id" = "lead"."company_id")"#);
            out.push((sql.into_expr(backend), COMPANY));
        }
        out
    }

    /// Reads this selection's extra columns of `row` (the row of `lead`) into `out`.
    /// Errors: the driver's, or `DbErr::Json` for JSON that is not what [`Nested::columns`]
    /// builds.
    pub fn read(
        &self,
        row: &QueryResult,
        lead: &lead::Model,
        out: &mut Prefetched,
    ) -> Result<(), DbErr> {
        if let Some(page) = self.requests {
            let rows = if page.first == 0 {
                Vec::new()
            } else {
                let text: String = row.try_get("", REQUESTS)?;
                let tuples: Vec<RequestTuple> =
                    serde_json::from_str(&text).map_err(|e| DbErr::Json(e.to_string()))?;
                let mut rows: Vec<request::Model> = tuples
                    .into_iter()
                    .map(|t| {
                        Ok(request::Model {
                            id: t.0,
                            request_id: t.1.unwrap_or_default(),
                            project_id: lead.project_id,
                            lead: lead.id,
                            requester_id: t.2.unwrap_or_default(),
                            first_text: t.3.unwrap_or_default(),
                            status: match t.4 {
                                Some(status) => sea_orm::ActiveEnum::try_from_value(&status)?,
                                None => request::RequestStatus::Unassigned,
                            },
                            channel: t.5.unwrap_or_default(),
                            attributes: t.6,
                            created_at: t.7,
                            updated_at: t.8.unwrap_or(t.7),
                            closed_at: t.9,
                        })
                    })
                    .collect::<Result<_, DbErr>>()?;
                rows.sort_by_key(|r| std::cmp::Reverse(cursor_of(r)));
                rows
            };
            out.request_pages
                .push((lead.id, Page::from_overfetch(rows, page.first)));
        }
        if self.requests_count {
            let n: i64 = row.try_get("", REQUESTS_COUNT)?;
            out.request_counts
                .push((lead.id, u64::try_from(n).unwrap_or(0)));
        }
        if self.merged_from {
            let text: String = row.try_get("", MERGED_FROM)?;
            let mut ids: Vec<Uuid> =
                serde_json::from_str(&text).map_err(|e| DbErr::Json(e.to_string()))?;
            ids.sort();
            out.merged_from.push((lead.id, ids));
        }
        if self.company {
            let text: Option<String> = row.try_get("", COMPANY)?;
            if let Some(text) = text {
                let t: CompanyTuple =
                    serde_json::from_str(&text).map_err(|e| DbErr::Json(e.to_string()))?;
                if !out.companies.iter().any(|c| c.id == t.0) {
                    out.companies.push(company::Model {
                        id: t.0,
                        project_id: lead.project_id,
                        name: t.1,
                        name_key: t.2,
                        domain: t.3,
                        attributes: t.4,
                        version: t.5,
                        created_at: t.6,
                        updated_at: t.7,
                    });
                }
            }
        }
        Ok(())
    }
}
