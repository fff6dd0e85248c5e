//! The duplicate finder: groups of listed contacts of a project that share a normalised email
//! (first rule) or the same E.164 phone (second rule), biggest groups first, each with a
//! suggested primary for a merge (most Requests, then oldest).
//!
//! A page costs four statements whatever its size: the groups (`GROUP BY … HAVING COUNT(*) >
//! 1` per rule, keyset-paginated), the members of the page's email groups and of its phone
//! groups (a `ROW_NUMBER()` window each, at most [`MAX_GROUP_MEMBERS`] per group), and their
//! Request counts (one `GROUP BY`).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::lead;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, FromQueryResult, Iterable, Statement, Value,
};
use uuid::Uuid;

use super::ProjectScope;
use super::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::error::{AppError, AppResult};

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

fn encode(p: &Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("d1|{}|{}|{}", p.size, p.rule, p.key))
}

fn decode(value: &str) -> AppResult<Position> {
    let bad = || AppError::bad_input("after", "is not a valid cursor");
    let bytes = URL_SAFE_NO_PAD.decode(value.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(4, '|');
    let (Some("d1"), Some(size), Some(rule), Some(key)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let size: i64 = size.parse().map_err(|_| bad())?;
    let rule: i32 = rule.parse().map_err(|_| bad())?;
    if size < 2 || !(0..=1).contains(&rule) {
        return Err(bad());
    }
    Ok(Position {
        size,
        rule,
        key: key.to_owned(),
    })
}

/// Numbers `?` placeholders as `$1, $2, …` for PostgreSQL.
fn placeholders(backend: DbBackend, sql: &str) -> String {
    if backend != DbBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
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
    let first = match first {
        None => DEFAULT_PAGE_SIZE as i64,
        Some(n) if (0..=MAX_PAGE_SIZE as i32).contains(&n) => i64::from(n),
        Some(_) => {
            return Err(AppError::bad_input(
                "first",
                format!("must be between 0 and {MAX_PAGE_SIZE}"),
            ));
        }
    };
    let after = after.map(decode).transpose()?;
    if first == 0 {
        return Ok(DuplicatePage {
            groups: Vec::new(),
            has_next_page: false,
        });
    }
    let backend = db.get_database_backend();
    let project: Value = scope.project_id.into();
    let mut values: Vec<Value> = vec![
        project.clone(),
        lead::LeadStatus::Normal.into(),
        project,
        lead::LeadStatus::Normal.into(),
    ];
    let mut sql = String::from(
        r#"SELECT "rule", "k", "n" FROM (
            SELECT 0 AS "rule", "email_key" AS "k", COUNT(*) AS "n" FROM "lead"
              WHERE "project_id" = ? AND "status" = ? AND "email_key" IS NOT NULL
              GROUP BY "email_key" HAVING COUNT(*) > 1
            UNION ALL
            SELECT 1 AS "rule", "phone" AS "k", COUNT(*) AS "n" FROM "lead"
              WHERE "project_id" = ? AND "status" = ? AND "phone" IS NOT NULL
              GROUP BY "phone" HAVING COUNT(*) > 1
        ) "g""#,
    );
    if let Some(p) = &after {
        sql.push_str(r#" WHERE "n" < ? OR ("n" = ? AND ("rule" > ? OR ("rule" = ? AND "k" > ?)))"#);
        values.extend([
            p.size.into(),
            p.size.into(),
            p.rule.into(),
            p.rule.into(),
            p.key.clone().into(),
        ]);
    }
    sql.push_str(r#" ORDER BY "n" DESC, "rule" ASC, "k" ASC LIMIT ?"#);
    values.push((first + 1).into());
    let stmt = Statement::from_sql_and_values(backend, placeholders(backend, &sql), values);
    let mut rows = GroupRow::find_by_statement(stmt).all(db).await?;
    let has_next_page = rows.len() as i64 > first;
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
        let cursor = encode(&Position {
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
        .expr_as(
            Expr::cust(format!(
                r#"ROW_NUMBER() OVER (PARTITION BY "{partition}" ORDER BY "created_at" ASC, "id" ASC)"#
            )),
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
    fn cursor_round_trips_and_rejects_garbage() {
        let p = Position {
            size: 3,
            rule: 1,
            key: "+14155552671|x".into(),
        };
        assert_eq!(decode(&encode(&p)).unwrap(), p);
        for bad in [
            "",
            "zzz",
            &URL_SAFE_NO_PAD.encode("d1|1|0|k"),
            &URL_SAFE_NO_PAD.encode("d1|2|7|k"),
        ] {
            assert!(decode(bad).is_err());
        }
    }

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(
            placeholders(DbBackend::Postgres, "a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(placeholders(DbBackend::Sqlite, "a = ?"), "a = ?");
    }
}
