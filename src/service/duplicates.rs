//! The duplicate finder: groups of listed contacts of a project that share a normalised email
//! (first rule) or the same E.164 phone (second rule), biggest groups first, each with a
//! suggested primary for a merge (most Requests, then oldest).
//!
//! A page costs four statements whatever its size: the groups (`GROUP BY … HAVING COUNT(*) >
//! 1` per rule, keyset-paginated), the members of the page's email groups and of its phone
//! groups (a `ROW_NUMBER()` window each, at most [`MAX_GROUP_MEMBERS`] per group), and their
//! Request counts (one `GROUP BY`).

use std::collections::HashMap;

use entity::lead;
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, UnionType, WindowStatement,
};
use sea_orm::{ColumnTrait, ConnectionTrait, FromQueryResult, Iterable};
use uuid::Uuid;

use super::ProjectScope;
use super::pagination::{CursorPosition, decode_cursor, encode_cursor, page_size};
#[cfg(test)]
use crate::error::AppError;
use crate::error::AppResult;

/// Most contacts listed per group (`size` still counts them all).
pub const MAX_GROUP_MEMBERS: i64 = 50;

/// What the contacts of a group share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DuplicateRule {
    /// The same normalised (NFC, lower-case) email.
    Email,
    /// The same phone (E.164, or the same national digits).
    Phone,
}

impl DuplicateRule {
    fn rank(self) -> i32 {
        match self {
            Self::Email => 0,
            Self::Phone => 1,
        }
    }
}

/// One group of likely duplicates.
#[derive(Clone, Debug)]
pub struct DuplicateGroup {
    /// The shared property.
    pub rule: DuplicateRule,
    /// Its value (the email key or the phone).
    pub key: String,
    /// How many listed contacts share it.
    pub size: u64,
    /// The contacts (oldest first, at most [`MAX_GROUP_MEMBERS`]).
    pub contacts: Vec<lead::Model>,
    /// The suggested primary: most Requests, then oldest.
    pub suggested_primary: Uuid,
    /// The group's opaque cursor.
    pub cursor: String,
}

/// A page of groups.
#[derive(Clone, Debug)]
pub struct DuplicatePage {
    /// The groups, biggest first (then email before phone, then by key).
    pub groups: Vec<DuplicateGroup>,
    /// Whether more groups follow.
    pub has_next_page: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Position {
    size: i64,
    rule: i32,
    key: String,
}

impl CursorPosition for Position {
    /// `d1|<size>|<rule>|<key>` (the key last: it may hold `|`).
    fn to_text(&self) -> String {
        format!("d1|{}|{}|{}", self.size, self.rule, self.key)
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.splitn(4, '|');
        let (Some("d1"), Some(size), Some(rule), Some(key)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let size: i64 = size.parse().ok()?;
        let rule: i32 = rule.parse().ok()?;
        (size >= 2 && (0..=1).contains(&rule)).then(|| Self {
            size,
            rule,
            key: key.to_owned(),
        })
    }
}

/// The page's groups: `SELECT "rule", "k", "n" FROM (<email groups> UNION ALL <phone
/// groups>) AS "g"`, after `after`, biggest first, `first + 1` rows.
fn groups_statement(
    scope: ProjectScope,
    first: u64,
    after: Option<&Position>,
) -> sea_orm::sea_query::SelectStatement {
    // One `GROUP BY … HAVING COUNT(*) > 1` per rule, the rule and the bound a constant.
    let groups = |rule: i32, column: lead::Column| {
        Query::select()
            .expr_as(Expr::Constant(rule.into()), Alias::new("rule"))
            .expr_as(Expr::col(column), Alias::new("k"))
            .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"))
            .from(lead::Entity)
            .and_where(Expr::col(lead::Column::ProjectId).eq(scope.project_id))
            .and_where(Expr::col(lead::Column::Status).eq(lead::LeadStatus::Normal))
            .and_where(Expr::col(column).is_not_null())
            .group_by_col(column)
            .and_having(Func::count(Expr::col(Asterisk)).gt(Expr::Constant(1.into())))
            .to_owned()
    };
    let mut union = groups(0, lead::Column::EmailKey);
    union.union(UnionType::All, groups(1, lead::Column::Phone));
    let (rule, k, n) = (
        || Expr::col(Alias::new("rule")),
        || Expr::col(Alias::new("k")),
        || Expr::col(Alias::new("n")),
    );
    let mut query = Query::select();
    query
        .columns([Alias::new("rule"), Alias::new("k"), Alias::new("n")])
        .from_subquery(union, Alias::new("g"));
    if let Some(p) = after {
        query.and_where(
            n().lt(p.size).or(n().eq(p.size).and(
                rule()
                    .gt(p.rule)
                    .or(rule().eq(p.rule).and(k().gt(p.key.clone()))),
            )),
        );
    }
    query
        .order_by(Alias::new("n"), Order::Desc)
        .order_by(Alias::new("rule"), Order::Asc)
        .order_by(Alias::new("k"), Order::Asc)
        .limit(first + 1);
    query.to_owned()
}

#[derive(FromQueryResult)]
struct GroupRow {
    rule: i32,
    k: String,
    n: i64,
}

/// One page of duplicate groups of `scope` (listed contacts only: status NORMAL, not merged).
/// `first` defaults to 20, at most 100. Errors: `BAD_USER_INPUT` (`first`, `after`).
pub async fn page(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    first: Option<i32>,
    after: Option<&str>,
) -> AppResult<DuplicatePage> {
    let first = page_size("first", first)?;
    let after: Option<Position> = after.map(|c| decode_cursor("after", c)).transpose()?;
    if first == 0 {
        return Ok(DuplicatePage {
            groups: Vec::new(),
            has_next_page: false,
        });
    }
    let backend = db.get_database_backend();
    let query = groups_statement(scope, first, after.as_ref());
    let mut rows = GroupRow::find_by_statement(backend.build(&query))
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);

    let emails: Vec<String> = rows
        .iter()
        .filter(|r| r.rule == 0)
        .map(|r| r.k.clone())
        .collect();
    let phones: Vec<String> = rows
        .iter()
        .filter(|r| r.rule == 1)
        .map(|r| r.k.clone())
        .collect();
    let by_email = members(db, scope, lead::Column::EmailKey, &emails).await?;
    let by_phone = members(db, scope, lead::Column::Phone, &phones).await?;
    let ids: Vec<Uuid> = by_email
        .values()
        .chain(by_phone.values())
        .flatten()
        .map(|m| m.id)
        .collect();
    let counts = super::store::requests::counts_for_leads(db, scope, &ids, None).await?;
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows {
        let (rule, source) = if row.rule == 0 {
            (DuplicateRule::Email, &by_email)
        } else {
            (DuplicateRule::Phone, &by_phone)
        };
        let contacts = source.get(&row.k).cloned().unwrap_or_default();
        // Members come oldest first; the first with the most Requests wins.
        let mut best: Option<(&lead::Model, u64)> = None;
        for m in &contacts {
            let n = counts.get(&m.id).copied().unwrap_or(0);
            if best.is_none_or(|(_, b)| n > b) {
                best = Some((m, n));
            }
        }
        let Some((primary, _)) = best else {
            continue; // the group emptied between the two statements
        };
        let suggested_primary = primary.id;
        let cursor = encode_cursor(&Position {
            size: row.n,
            rule: rule.rank(),
            key: row.k.clone(),
        });
        groups.push(DuplicateGroup {
            rule,
            key: row.k,
            size: u64::try_from(row.n).unwrap_or(0),
            contacts,
            suggested_primary,
            cursor,
        });
    }
    Ok(DuplicatePage {
        groups,
        has_next_page,
    })
}

/// The listed contacts whose `column` is one of `keys`, oldest first, at most
/// [`MAX_GROUP_MEMBERS`] per key: one window statement.
async fn members(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    column: lead::Column,
    keys: &[String],
) -> AppResult<HashMap<String, Vec<lead::Model>>> {
    let mut out: HashMap<String, Vec<lead::Model>> = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let partition = match column {
        lead::Column::Phone => "phone",
        _ => "email_key",
    };
    let mut inner = Query::select();
    inner
        .columns(lead::Column::iter())
        .expr_window_as(
            Expr::cust("ROW_NUMBER()"),
            WindowStatement::partition_by(Alias::new(partition))
                .order_by(Alias::new("created_at"), Order::Asc)
                .order_by(Alias::new("id"), Order::Asc)
                .take(),
            Alias::new("rn"),
        )
        .from(lead::Entity)
        .and_where(lead::Column::ProjectId.eq(scope.project_id))
        .and_where(lead::Column::Status.eq(lead::LeadStatus::Normal))
        .and_where(column.is_in(keys.iter().cloned()));
    let mut outer = Query::select();
    outer
        .column(sea_orm::sea_query::Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("rn")).lte(MAX_GROUP_MEMBERS))
        .order_by(Alias::new("rn"), Order::Asc);
    let rows = lead::Model::find_by_statement(db.get_database_backend().build(&outer))
        .all(db)
        .await?;
    for row in rows {
        let key = match column {
            lead::Column::Phone => row.phone.clone(),
            _ => row.email_key.clone(),
        };
        if let Some(key) = key {
            out.entry(key).or_default().push(row);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_statement_is_one_union() {
        let scope = ProjectScope::operator(Uuid::nil());
        let after = Position {
            size: 3,
            rule: 0,
            key: "a@x.com".into(),
        };
        let sql = groups_statement(scope, 20, Some(&after))
            .to_string(sea_orm::sea_query::PostgresQueryBuilder);
        let nil = "'00000000-0000-0000-0000-000000000000'";
        assert_eq!(
            sql,
            format!(
                r#"SELECT "rule", "k", "n" FROM (SELECT 0 AS "rule", "email_key" AS "k", COUNT(*) AS "n" FROM "lead" WHERE "project_id" = {nil} AND "status" = 100 AND "email_key" IS NOT NULL GROUP BY "email_key" HAVING COUNT(*) > 1 UNION ALL (SELECT 1 AS "rule", "phone" AS "k", COUNT(*) AS "n" FROM "lead" WHERE "project_id" = {nil} AND "status" = 100 AND "phone" IS NOT NULL GROUP BY "phone" HAVING COUNT(*) > 1)) AS "g" WHERE "n" < 3 OR ("n" = 3 AND ("rule" > 0 OR ("rule" = 0 AND "k" > 'a@x.com'))) ORDER BY "n" DESC, "rule" ASC, "k" ASC LIMIT 21"#
            )
        );
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let p = Position {
            size: 3,
            rule: 1,
            key: "+14155552671|x".into(),
        };
        let decode = |c: &str| decode_cursor::<Position>("after", c);
        assert_eq!(decode(&encode_cursor(&p)).unwrap(), p);
        // The encoded form is the one cursors were issued in before the shared codec.
        assert_eq!(
            encode_cursor(&p),
            URL_SAFE_NO_PAD.encode("d1|3|1|+14155552671|x")
        );
        for bad in [
            "",
            "zzz",
            &URL_SAFE_NO_PAD.encode("d1|1|0|k"),
            &URL_SAFE_NO_PAD.encode("d1|2|7|k"),
        ] {
            assert!(matches!(
                decode(bad),
                Err(AppError::BadUserInput { field: "after", .. })
            ));
        }
    }
}
