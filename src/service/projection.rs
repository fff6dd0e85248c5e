//! Column projection of the read path: which columns of a Lead (and of its prefetched
//! Requests, [`RequestColumns`]) a read fetches. A GraphQL selection of 4 contact fields
//! reads 4 of the Lead's 25 columns, as PostGraphile's statements do; fetching the rest
//! (three `jsonb` documents among them) cost PostgreSQL a quarter of Q2's time and the server
//! their decoding (bench/RESULTS.md, 2026-12-03).
//!
//! A column left out is read back as a placeholder ([`LeadColumns::read`]), so a projected
//! `lead::Model` must only reach readers of the columns it holds: the GraphQL layer builds the
//! set from the selection of the very objects the rows become, and never caches them for
//! other readers.

use entity::lead;
use sea_orm::sea_query::{Alias, Expr, SelectStatement};
use sea_orm::{DbErr, FromQueryResult, Iterable, QueryResult, QuerySelect, Select};

/// A set of the Lead's columns, always holding [`LeadColumns::ALWAYS`]. [`LeadColumns::ALL`]
/// (the default) reads whole rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeadColumns(u32);

/// The bit of `column` (the entity has fewer than 32 columns).
const fn bit(column: lead::Column) -> u32 {
    1 << (column as u32)
}

impl LeadColumns {
    /// What every read needs: the key, the tenant, the default order's key and the tombstone
    /// pointer (lookups follow it).
    pub const ALWAYS: Self = Self(
        bit(lead::Column::Id)
            | bit(lead::Column::ProjectId)
            | bit(lead::Column::CreatedAt)
            | bit(lead::Column::MergedInto),
    );
    /// Every column.
    pub const ALL: Self = Self(u32::MAX);

    /// These columns and `column`.
    pub const fn with(self, column: lead::Column) -> Self {
        Self(self.0 | bit(column))
    }

    /// Whether `column` is in the set.
    pub const fn has(self, column: lead::Column) -> bool {
        self.0 & bit(column) != 0
    }

    /// Whether this is every column.
    pub fn is_all(self) -> bool {
        lead::Column::iter().all(|c| self.has(c))
    }

    /// `select` (a `SELECT … FROM "lead"`) reading only these columns; call before adding
    /// computed columns (it replaces the select list).
    pub fn project(self, select: Select<lead::Entity>) -> Select<lead::Entity> {
        if self.is_all() {
            return select;
        }
        let mut select = select.select_only();
        for column in lead::Column::iter().filter(|&c| self.has(c)) {
            select = select.column(column);
        }
        select
    }

    /// Adds these columns of `"lead"` to `query`'s select list (`"lead".*` for all).
    pub fn add_to(self, query: &mut SelectStatement) {
        if self.is_all() {
            query.column((lead::Entity, sea_orm::sea_query::Asterisk));
            return;
        }
        for column in lead::Column::iter().filter(|&c| self.has(c)) {
            query.expr_as(
                Expr::col((lead::Entity, column)),
                Alias::new(sea_orm::IdenStatic::as_str(&column)),
            );
        }
    }

    /// The Lead of `row` (read with [`LeadColumns::project`] or [`LeadColumns::add_to`]):
    /// the columns left out hold placeholders (`None`, empty text, JSON `null`, status
    /// `Normal`, version 0, `created_at` for `updated_at`). Errors: the driver's.
    pub fn read(self, row: &QueryResult) -> Result<lead::Model, DbErr> {
        if self.is_all() {
            return lead::Model::from_query_result(row, "");
        }
        use lead::Column as C;
        // A column of the set, or `absent` for one left out.
        fn get<T: sea_orm::TryGetable>(
            row: &QueryResult,
            columns: LeadColumns,
            c: C,
            absent: T,
        ) -> Result<T, DbErr> {
            if columns.has(c) {
                row.try_get("", sea_orm::IdenStatic::as_str(&c))
            } else {
                Ok(absent)
            }
        }
        let text = |c: C| get(row, self, c, None::<String>);
        let json = |c: C| get(row, self, c, serde_json::Value::Null);
        let at = |c: C| get(row, self, c, None::<sea_orm::prelude::DateTimeUtc>);
        let created_at: sea_orm::prelude::DateTimeUtc = row.try_get("", "created_at")?;
        Ok(lead::Model {
            id: row.try_get("", "id")?,
            project_id: row.try_get("", "project_id")?,
            lead_id: text(C::LeadId)?.unwrap_or_default(),
            fullname: text(C::Fullname)?,
            email: text(C::Email)?,
            email_key: text(C::EmailKey)?,
            phone: text(C::Phone)?,
            company: text(C::Company)?,
            note: text(C::Note)?,
            street: text(C::Street)?,
            city: text(C::City)?,
            region: text(C::Region)?,
            zipcode: text(C::Zipcode)?,
            country: text(C::Country)?,
            attributes: json(C::Attributes)?,
            tags: json(C::Tags)?,
            status: get(row, self, C::Status, lead::LeadStatus::Normal)?,
            version: get(row, self, C::Version, 0)?,
            created_at,
            updated_at: at(C::UpdatedAt)?.unwrap_or(created_at),
            last_request_at: at(C::LastRequestAt)?,
            erased_at: at(C::ErasedAt)?,
            merged_into: row.try_get("", "merged_into")?,
            additional_emails: json(C::AdditionalEmails)?,
            external_id: text(C::ExternalId)?,
            owner_id: get(row, self, C::OwnerId, None)?,
            company_id: get(row, self, C::CompanyId, None)?,
        })
    }
}

impl Default for LeadColumns {
    fn default() -> Self {
        Self::ALL
    }
}

/// The optional columns of a prefetched Request (`id` and `created_at`, its cursor, always
/// come): a set of bits, [`RequestColumns::ALL`] by default. A column left out is sent as
/// JSON `null` and read back as a placeholder (empty text, nil UUID, `Unassigned`, `null`,
/// `created_at` for `updated_at`), so a page fetched with fewer columns must only reach the
/// readers of those columns: the GraphQL layer keys its cache by the columns as well.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestColumns(u8);

impl RequestColumns {
    /// None of the optional columns.
    pub const NONE: Self = Self(0);
    /// `request_id`.
    pub const REQUEST_ID: Self = Self(1);
    /// `requester_id`.
    pub const REQUESTER_ID: Self = Self(1 << 1);
    /// `first_text`.
    pub const FIRST_TEXT: Self = Self(1 << 2);
    /// `status`.
    pub const STATUS: Self = Self(1 << 3);
    /// `channel`.
    pub const CHANNEL: Self = Self(1 << 4);
    /// `attributes`.
    pub const ATTRIBUTES: Self = Self(1 << 5);
    /// `updated_at`.
    pub const UPDATED_AT: Self = Self(1 << 6);
    /// `closed_at`.
    pub const CLOSED_AT: Self = Self(1 << 7);
    /// Every column.
    pub const ALL: Self = Self(u8::MAX);

    /// These columns and `other`'s.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every column of `other` is in these.
    pub const fn has(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for RequestColumns {
    fn default() -> Self {
        Self::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lead_column_has_its_own_bit() {
        assert!(lead::Column::iter().count() <= 32);
        let mut seen = LeadColumns(0);
        for column in lead::Column::iter() {
            assert!(!seen.has(column), "{column:?} shares a bit");
            seen = seen.with(column);
        }
        assert!(seen.is_all());
        assert!(!LeadColumns::ALWAYS.is_all());
        assert!(LeadColumns::ALWAYS.has(lead::Column::MergedInto));
        assert!(!LeadColumns::ALWAYS.has(lead::Column::Attributes));
    }
}
