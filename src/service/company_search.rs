//! The read side of companies: the agents' list (search, name order, keyset pages), a
//! company with its first contacts page in ONE statement (`company(id:)`), and the batches
//! of the GraphQL loaders (contacts pages and counts of many companies, one statement each).
//!
//! Contacts of a company are its listed (NORMAL) contacts, newest first (`created_at DESC,
//! id DESC`), with the contacts lists' keyset cursors over (created_at, id).

use std::collections::HashMap;

use entity::{company, lead};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, JoinType, LikeExpr, Order, Query, SelectStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Iterable, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use super::ProjectScope;
use super::pagination::{
    Cursor, CursorPosition, Page, PageArgs, decode_cursor, encode_cursor, page_size,
    pages_by_group, per_group_window,
};
use super::prefetch::{Nested, Prefetched};
use super::store::leads::LISTED_STATUSES;
use crate::error::AppResult;
use crate::normalize;

/// Longest accepted search input, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// A position in the companies list: its sort key (the name's match key) and id. Text form
/// `c1|<id>|<name key>` (the key last: it may hold `|`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct NameCursor {
    key: String,
    id: Uuid,
}

impl CursorPosition for NameCursor {
    fn to_text(&self) -> String {
        format!("c1|{}|{}", self.id, self.key)
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '|');
        let (Some("c1"), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        if key.chars().any(normalize::is_forbidden_char) {
            return None;
        }
        Some(Self {
            key: key.to_owned(),
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// A page of companies with the cursor of each.
#[derive(Clone, Debug)]
pub struct CompanyPage {
    /// The companies, by name (case-insensitive) then id.
    pub rows: Vec<company::Model>,
    /// The opaque cursor of each.
    pub cursors: Vec<String>,
    /// More companies after the last one.
    pub has_next_page: bool,
    /// Whether the page was asked for after a cursor.
    pub has_previous_page: bool,
}

/// The companies of `scope` matching `search` (every company when `None` or blank).
/// Errors: `BAD_USER_INPUT` on `search` (over 200 characters, control characters).
fn filtered(scope: ProjectScope, search: Option<&str>) -> AppResult<Select<company::Entity>> {
    let select = company::Entity::find().filter(company::Column::ProjectId.eq(scope.project_id));
    // The one text rule (trim, NFC, no control characters, a length): blank searches nothing.
    let Some(input) = normalize::text("search", search, MAX_SEARCH_CHARS)? else {
        return Ok(select);
    };
    // A substring of the name's match key or of the domain; `!` escapes LIKE's wildcards.
    let mut pattern = String::from("%");
    for c in normalize::match_key(&input).chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    let like = || LikeExpr::new(pattern.clone()).escape('!');
    Ok(select.filter(
        Expr::col((company::Entity, company::Column::NameKey))
            .like(like())
            .or(Expr::col((company::Entity, company::Column::Domain)).like(like())),
    ))
}

/// One page of the companies of `scope` matching `search` (case-insensitive substring of
/// the name or the domain), ordered by name (case-insensitive) then id: `first` (default
/// 20, at most 100) after the cursor `after`. One statement. Errors: `BAD_USER_INPUT`
/// (`search`, `first`, `after`).
pub async fn list(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    search: Option<&str>,
    first: Option<i32>,
    after: Option<&str>,
) -> AppResult<CompanyPage> {
    let size = page_size("first", first)?;
    let cursor: Option<NameCursor> = after.map(|c| decode_cursor("after", c)).transpose()?;
    let mut select = filtered(scope, search)?;
    if let Some(c) = &cursor {
        let key = || Expr::col((company::Entity, company::Column::NameKey));
        select = select.filter(
            key().gt(c.key.clone()).or(key()
                .eq(c.key.clone())
                .and(Expr::col((company::Entity, company::Column::Id)).gt(c.id))),
        );
    }
    let mut rows = if size == 0 {
        Vec::new()
    } else {
        select
            .order_by_asc(company::Column::NameKey)
            .order_by_asc(company::Column::Id)
            .limit(size + 1)
            .all(db)
            .await?
    };
    let has_next_page = rows.len() as u64 > size;
    rows.truncate(size as usize);
    let cursors = rows
        .iter()
        .map(|c| {
            encode_cursor(&NameCursor {
                key: c.name_key.clone(),
                id: c.id,
            })
        })
        .collect();
    Ok(CompanyPage {
        rows,
        cursors,
        has_next_page,
        has_previous_page: cursor.is_some(),
    })
}

/// How many companies of `scope` match `search` (the list's `totalCount`). Errors:
/// `BAD_USER_INPUT` on `search`.
pub async fn count(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    search: Option<&str>,
) -> AppResult<u64> {
    Ok(filtered(scope, search)?.count(db).await?)
}

/// The listed contacts of `scope` linked to a company: the `SELECT … FROM "lead"` every read
/// of a company's contacts starts from.
fn contacts_of(scope: ProjectScope) -> Select<lead::Entity> {
    lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::Status.is_in(LISTED_STATUSES))
}

/// `select` after the keyset position `after` of a newest-first list.
fn after_cursor(select: Select<lead::Entity>, after: Option<Cursor>) -> Select<lead::Entity> {
    let Some(after) = after else {
        return select;
    };
    select.filter(
        lead::Column::CreatedAt
            .lt(after.created_at)
            .or(lead::Column::CreatedAt
                .eq(after.created_at)
                .and(lead::Column::Id.lt(after.id))),
    )
}

/// What a company lookup fetches with the company, in the same statement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompanyNested {
    /// One page of its contacts, fetched with `contact` (their columns and nested
    /// relations).
    pub contacts: Option<PageArgs>,
    /// How the contacts of that page are read.
    pub contact: Nested,
    /// Its number of listed contacts.
    pub contacts_count: bool,
}

/// A company found with what [`CompanyNested`] asked for.
#[derive(Clone, Debug)]
pub struct CompanyFound {
    /// The company.
    pub company: company::Model,
    /// The contacts page asked for (rows with the asked columns only), and what the
    /// contacts' nested relations fetched.
    pub contacts: Option<(PageArgs, Page<lead::Model>, Prefetched)>,
    /// Its number of listed contacts, when asked for.
    pub contacts_count: Option<u64>,
}

/// Prefix of the company's columns in [`find_with_contacts`]'s rows.
const COMPANY_PREFIX: &str = "co_";
/// Alias of the contacts count in [`find_with_contacts`]'s rows.
const CONTACTS_COUNT: &str = "co_contacts_count";

/// The company `id` of `scope` with `nested` (a page of its contacts with their own nested
/// relations, its contacts count) in ONE statement: the company row left-joined with the
/// page of its contacts (a derived table ordered and limited by itself), one result row per
/// contact (one row with null contact columns without any); `None` when absent or another
/// project's. Errors: database errors.
pub async fn find_with_contacts(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    nested: &CompanyNested,
) -> AppResult<Option<CompanyFound>> {
    let backend = db.get_database_backend();
    let co = Alias::new("co");
    let mut query = Query::select();
    for column in company::Column::iter() {
        query.expr_as(
            Expr::col((co.clone(), column)),
            Alias::new(format!(
                "{COMPANY_PREFIX}{}",
                sea_orm::IdenStatic::as_str(&column)
            )),
        );
    }
    if nested.contacts_count {
        let n = Alias::new("n");
        let count = Query::select()
            .expr(Func::count(Expr::col((n.clone(), lead::Column::Id))))
            .from_as(lead::Entity, n.clone())
            .and_where(Expr::col((n.clone(), lead::Column::ProjectId)).eq(scope.project_id))
            .and_where(
                Expr::col((n.clone(), lead::Column::CompanyId))
                    .equals((co.clone(), company::Column::Id)),
            )
            .and_where(Expr::col((n, lead::Column::Status)).is_in(LISTED_STATUSES))
            .to_owned();
        query.expr_as(
            Expr::SubQuery(None, Box::new(count.into())),
            Alias::new(CONTACTS_COUNT),
        );
    }
    query.from_as(company::Entity, co.clone());
    let page = nested.contacts.filter(|p| p.first > 0);
    if let Some(page) = page {
        let contact = &nested.contact;
        let inner = after_cursor(
            contacts_of(scope).filter(lead::Column::CompanyId.eq(id)),
            page.after,
        )
        .order_by_desc(lead::Column::CreatedAt)
        .order_by_desc(lead::Column::Id)
        .limit(page.first + 1);
        let inner: SelectStatement = contact.lead_columns.project(inner).into_query();
        contact.lead_columns.add_to(&mut query);
        for (expr, alias) in contact.columns(backend, scope) {
            query.expr_as(expr, Alias::new(alias));
        }
        query
            .join_subquery(
                JoinType::LeftJoin,
                inner,
                Alias::new("lead"),
                Expr::cust("1 = 1"),
            )
            .order_by((lead::Entity, lead::Column::CreatedAt), Order::Desc)
            .order_by((lead::Entity, lead::Column::Id), Order::Desc);
    }
    query
        .and_where(Expr::col((co.clone(), company::Column::ProjectId)).eq(scope.project_id))
        .and_where(Expr::col((co, company::Column::Id)).eq(id));
    let rows = db.query_all_raw(backend.build(&query)).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let company = company::Model::from_query_result(first, COMPANY_PREFIX)?;
    let contacts_count = if nested.contacts_count {
        let n: i64 = first.try_get("", CONTACTS_COUNT)?;
        Some(u64::try_from(n).unwrap_or(0))
    } else {
        None
    };
    let contacts = match nested.contacts {
        None => None,
        Some(args) => {
            let mut prefetched = Prefetched::default();
            let mut leads = Vec::new();
            if page.is_some() {
                for row in &rows {
                    if row.try_get::<Option<Uuid>>("", "id")?.is_none() {
                        continue;
                    }
                    let lead = nested.contact.lead_columns.read(row)?;
                    nested.contact.read(row, &lead, &mut prefetched)?;
                    leads.push(lead);
                }
            }
            Some((args, Page::from_overfetch(leads, args.first), prefetched))
        }
    };
    Ok(Some(CompanyFound {
        company,
        contacts,
        contacts_count,
    }))
}

/// For each company of `companies` (within `scope`), one page of its listed contacts,
/// newest first, whole rows: ONE statement for all of them (a window partitioned by
/// company). Companies without contacts are absent from the map.
pub async fn contact_pages(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    companies: &[Uuid],
    page: PageArgs,
) -> Result<HashMap<Uuid, Page<lead::Model>>, DbErr> {
    if page.first == 0 || companies.is_empty() {
        return Ok(HashMap::new());
    }
    let inner = contacts_of(scope)
        .filter(lead::Column::CompanyId.is_in(companies.iter().copied()))
        .into_query();
    let stmt = db
        .get_database_backend()
        .build(&per_group_window(inner, "company_id", page));
    let rows = lead::Model::find_by_statement(stmt).all(db).await?;
    Ok(pages_by_group(
        rows,
        |r| r.company_id.unwrap_or_default(),
        |r| Cursor {
            created_at: r.created_at,
            id: r.id,
        },
        page.first,
    ))
}

/// The number of listed contacts of each company of `companies` (within `scope`), in one
/// `GROUP BY` statement; companies without contacts are absent.
pub async fn contact_counts(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    companies: &[Uuid],
) -> Result<HashMap<Uuid, u64>, DbErr> {
    if companies.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Option<Uuid>, i64)> = contacts_of(scope)
        .select_only()
        .column(lead::Column::CompanyId)
        .column_as(lead::Column::Id.count(), "n")
        .filter(lead::Column::CompanyId.is_in(companies.iter().copied()))
        .group_by(lead::Column::CompanyId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| Some((id?, u64::try_from(n).unwrap_or(0))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_cursors_round_trip_and_keep_pipes() {
        let c = NameCursor {
            key: "a|b c".into(),
            id: Uuid::new_v4(),
        };
        let text = encode_cursor(&c);
        assert_eq!(decode_cursor::<NameCursor>("after", &text).unwrap(), c);
        let contacts_cursor = Cursor {
            created_at: chrono::Utc::now(),
            id: Uuid::nil(),
        }
        .encode();
        assert!(decode_cursor::<NameCursor>("after", &contacts_cursor).is_err());
    }
}
