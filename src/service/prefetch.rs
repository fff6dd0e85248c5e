//! One statement per read: the nested relations a contact selection asks for (a page of its
//! Requests, their count, the ids merged into it) come back as extra columns of the contact
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
use entity::{lead, request};
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{DbBackend, DbErr, QueryResult, QuerySelect, Select, Value as DbValue};
use serde_json::Value;
use uuid::Uuid;

use super::pagination::{Page, PageArgs};
use super::store::requests::cursor_of;
use super::{ProjectScope, RawSql};

/// Column alias of the Requests page.
const REQUESTS: &str = "nested_requests";
/// Column alias of the Requests count.
const REQUESTS_COUNT: &str = "nested_requests_count";
/// Column alias of the merged-in ids.
const MERGED_FROM: &str = "nested_merged_from";

/// The nested relations to fetch with each contact row. The default fetches nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nested {
    /// One page of each contact's Requests, newest first.
    pub requests: Option<PageArgs>,
    /// Each contact's number of Requests.
    pub requests_count: bool,
    /// The ids of the contacts merged into each one.
    pub merged_from: bool,
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
}

/// One Request of a JSON page: every column but `project_id` and `lead` (the parent's), in
/// this order.
type RequestTuple = (
    Uuid,
    String,
    Uuid,
    String,
    i32,
    String,
    Value,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

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
            let aggregate = if pg {
                r#"(SELECT coalesce(json_agg(json_build_array("r"."id", "r"."request_id", "r"."requester_id", "r"."first_text", "r"."status", "r"."channel", "r"."attributes", "r"."created_at", "r"."updated_at", "r"."closed_at")), '[]')::text FROM ("#
            } else {
                r#"(SELECT json_group_array(json_array(hex("r"."id"), "r"."request_id", hex("r"."requester_id"), "r"."first_text", "r"."status", "r"."channel", json("r"."attributes"), "r"."created_at", "r"."updated_at", "r"."closed_at")) FROM ("#
            };
            let sql = RawSql::new()
                .sql(aggregate)
                .sql(r#"SELECT * FROM "request" WHERE "#)
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
                            request_id: t.1,
                            project_id: lead.project_id,
                            lead: lead.id,
                            requester_id: t.2,
                            first_text: t.3,
                            status: sea_orm::ActiveEnum::try_from_value(&t.4)?,
                            channel: t.5,
                            attributes: t.6,
                            created_at: t.7,
                            updated_at: t.8,
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
        Ok(())
    }
}
