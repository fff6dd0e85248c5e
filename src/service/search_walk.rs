//! A full-text search ordered by creation time, answered by walking the project's newest (or
//! oldest) contacts instead of sorting every match (issue #12, benchmark Q5).
//!
//! Sorting is what a common word costs: "Costa" matches 2,480 of a project's 100,000 contacts,
//! and the plain plan reads every match (PostgreSQL: a GIN bitmap, then each row from the
//! heap; SQLite: the FTS5 doclist, then each lead by rowid) to keep the newest 21. The walk
//! reads the project's creation-time index (`idx_lead_project_created`) from the cursor on and
//! keeps the rows whose words match; with a common word the page fills after a few hundred
//! rows. With a rare word it never fills, so the walk stops after a bounded number of rows
//! ([`walk_rows`]) and the statement falls back to the plain plan, in the same statement:
//! - PostgreSQL: the index carries `status` and `search_vector` (migration
//!   `m20261207_000013_search_walk_index`), so the walk is an index-only scan. The fallback
//!   is a `MATERIALIZED` CTE of every match (the GIN index), read only when the walk came back
//!   short (a one-time filter): a rare word costs the walk plus its few matches.
//! - SQLite: the FTS5 matches are read once (a `MATERIALIZED` CTE of rowids); the walk probes
//!   them with each index entry's rowid and reads a lead only when it matches. When there are
//!   fewer matches than the page, it does not walk at all.
//!
//! The walk's first `limit` matches are exactly the page when it found that many: it visits
//! rows in the page's order. Otherwise the fallback's page, a superset of them, is. Either
//! way the result is a set of at most `2 × limit` ids that the page statement orders and cuts
//! as before (see `contact_search::keyset_page`): same rows, same cursors.

use sea_orm::sea_query::SimpleExpr;
use sea_orm::{DbBackend, Value as DbValue};
use uuid::Uuid;

use super::contact_search::{FTS_LEAD_ROWID_MASK, fts_rowid_range, fts5_query, pg_tsquery};
use super::{ProjectScope, RawSql};

/// Rows walked per row of the page before falling back: the walk pays off when at least 1 %
/// of the newest contacts match.
const ROWS_PER_PAGE_ROW: u64 = 100;

/// Most rows one walk reads (a page of 100 walks at most this many).
const MAX_WALK_ROWS: u64 = 5_000;

/// How many index rows a walk for a page of `limit` rows reads at most.
pub(super) fn walk_rows(limit: u64) -> u64 {
    limit.saturating_mul(ROWS_PER_PAGE_ROW).min(MAX_WALK_ROWS)
}

/// A search the walk can answer: words to match, the statuses kept, and nothing else (any
/// other filter keeps the plain plan, whose conditions the walk does not know).
#[derive(Clone, Debug)]
pub(super) struct SearchWalk {
    /// The normalised search input (see `contact_search::parse_search`).
    pub(super) input: String,
    /// The statuses kept, as stored (`lead.status`).
    pub(super) statuses: Vec<i32>,
    /// The project searched.
    pub(super) scope: ProjectScope,
}

/// Where the page starts and which way it reads.
pub(super) struct WalkPage {
    /// Newest first (`created_at DESC, id DESC`), else oldest first.
    pub(super) desc: bool,
    /// Rows strictly past this `(created_at, id)` position only (a cursor's).
    pub(super) after: Option<(DbValue, Uuid)>,
    /// Rows the page statement asks for (its size plus one, for `hasNextPage`).
    pub(super) limit: u64,
}

impl SearchWalk {
    /// The condition that keeps exactly the candidates of `page`: `"lead"."id" IN (…)` on
    /// PostgreSQL, `"lead"."rowid" IN (…)` on SQLite, at most `2 × page.limit` rows, every
    /// one of the project, with a kept status, matching the words and past the cursor.
    pub(super) fn condition(&self, backend: DbBackend, page: &WalkPage) -> SimpleExpr {
        let sql = match backend {
            DbBackend::Postgres => self.postgres(page),
            _ => self.sqlite(page),
        };
        sql.into_expr(backend)
    }

    fn postgres(&self, page: &WalkPage) -> RawSql {
        let (dir, limit, walk) = (direction(page.desc), page.limit, walk_rows(page.limit));
        let words = pg_tsquery(&self.input);
        let sql = RawSql::new()
            .sql(r#""lead"."id" IN (WITH "walk" AS (SELECT "w"."id" FROM (SELECT "id", "status", "search_vector" FROM "lead" WHERE "project_id" = "#)
            .value(self.scope.project_id);
        let sql = past(sql, r#""created_at", "id""#, page)
            .sql(format!(
                r#" ORDER BY "created_at" {dir}, "id" {dir} LIMIT {walk}) AS "w" WHERE "w"."status" IN "#
            ))
            .append(&self.statuses_sql())
            .sql(r#" AND "w"."search_vector" @@ "#)
            .append(&words)
            .sql(format!(" LIMIT {limit}), "))
            .sql(r#""matches" AS MATERIALIZED (SELECT "id", "created_at" FROM "lead" WHERE "project_id" = "#)
            .value(self.scope.project_id)
            .sql(r#" AND "status" IN "#)
            .append(&self.statuses_sql())
            .sql(r#" AND "search_vector" @@ "#)
            .append(&words);
        past(sql, r#""created_at", "id""#, page).sql(format!(
            r#") SELECT "id" FROM "walk" UNION ALL (SELECT "id" FROM "matches" WHERE (SELECT count(*) FROM "walk") < {limit} ORDER BY "created_at" {dir}, "id" {dir} LIMIT {limit}))"#
        ))
    }

    fn sqlite(&self, page: &WalkPage) -> RawSql {
        let (dir, limit, walk) = (direction(page.desc), page.limit, walk_rows(page.limit));
        let (low, high) = fts_rowid_range(self.scope);
        let sql = RawSql::new()
            .sql(format!(
                r#""lead"."rowid" IN (WITH "m" AS MATERIALIZED (SELECT rowid & {FTS_LEAD_ROWID_MASK} AS "r" FROM "lead_fts" WHERE "lead_fts" MATCH "#
            ))
            .value(fts5_query(&self.input))
            .sql(format!(
                r#" AND rowid >= {low} AND rowid < {high}), "walk" AS (SELECT "l"."rowid" AS "r" FROM (SELECT "rowid" AS "r" FROM "lead" WHERE "project_id" = "#
            ))
            .value(self.scope.project_id);
        let sql = past(sql, r#""created_at", "id""#, page)
            .sql(format!(
                r#" ORDER BY "created_at" {dir}, "id" {dir} LIMIT {walk}) AS "w" CROSS JOIN "lead" AS "l" ON "l"."rowid" = "w"."r" WHERE (SELECT count(*) FROM "m") >= {limit} AND "w"."r" IN (SELECT "r" FROM "m") AND "l"."status" IN "#
            ))
            .append(&self.statuses_sql())
            .sql(format!(
                r#" LIMIT {limit}) SELECT "r" FROM "walk" UNION ALL SELECT "r" FROM (SELECT "l"."rowid" AS "r" FROM "m" CROSS JOIN "lead" AS "l" ON "l"."rowid" = "m"."r" WHERE (SELECT count(*) FROM "walk") < {limit} AND "l"."project_id" = "#
            ))
            .value(self.scope.project_id)
            .sql(r#" AND "l"."status" IN "#)
            .append(&self.statuses_sql());
        past(sql, r#""l"."created_at", "l"."id""#, page).sql(format!(
            r#" ORDER BY "l"."created_at" {dir}, "l"."id" {dir} LIMIT {limit}))"#
        ))
    }

    /// `(s1, s2, …)`, each status bound.
    fn statuses_sql(&self) -> RawSql {
        let mut sql = RawSql::new().sql("(");
        for (i, status) in self.statuses.iter().enumerate() {
            if i > 0 {
                sql = sql.sql(", ");
            }
            sql = sql.value(*status);
        }
        sql.sql(")")
    }
}

fn direction(desc: bool) -> &'static str {
    if desc { "DESC" } else { "ASC" }
}

/// `sql` and, with a cursor, ` AND (<columns>) < (at, id)` (`>` oldest first): a row value
/// comparison, which both databases answer from the index's order.
fn past(sql: RawSql, columns: &'static str, page: &WalkPage) -> RawSql {
    let Some((at, id)) = &page.after else {
        return sql;
    };
    let op = if page.desc { " < " } else { " > " };
    sql.sql(" AND (")
        .sql(columns)
        .sql(")")
        .sql(op)
        .sql("(")
        .value(at.clone())
        .sql(", ")
        .value(*id)
        .sql(")")
}
