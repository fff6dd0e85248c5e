//! The companies' per-request DataLoaders (companies by id, a page of contacts per company,
//! contacts per company), their priming by the `companies` list, and the plan of
//! `company(id:)`: the company, its first contacts page (with their own nested relations)
//! and its contacts count in ONE statement
//! (`service::company_search::find_with_contacts`), fed to these loaders' caches.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::Loader;
use entity::{company, lead};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::loaders::{Loaders, PageKey, Plan, load_pages, page_of};
use crate::error::AppResult;
use crate::service::ProjectScope;
use crate::service::company_search::{self, CompanyFound, CompanyNested};
use crate::service::pagination::{Page, PageArgs};
use crate::service::store::companies;

/// Loads companies by primary key within the tenant scope (`Contact.company`).
pub struct CompanyLoader {
    pub(super) db: DatabaseConnection,
    pub(super) scope: ProjectScope,
}

impl Loader<Uuid> for CompanyLoader {
    type Value = company::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(companies::find_many(&self.db, self.scope, keys, false)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect())
    }
}

/// Key of [`CompanyContactsLoader`]: a company and the page wanted of its contacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompanyContactsKey {
    /// The company's primary key.
    pub company: Uuid,
    /// The page (`first`, `after`).
    pub page: PageArgs,
}

impl PageKey for CompanyContactsKey {
    fn lead(&self) -> Uuid {
        self.company
    }
    fn page(&self) -> PageArgs {
        self.page
    }
}

/// Loads one page of contacts (whole rows) per company: one statement per distinct page
/// shape in the batch (normally exactly one).
pub struct CompanyContactsLoader {
    pub(super) db: DatabaseConnection,
    pub(super) scope: ProjectScope,
}

impl Loader<CompanyContactsKey> for CompanyContactsLoader {
    type Value = Page<lead::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[CompanyContactsKey],
    ) -> Result<HashMap<CompanyContactsKey, Self::Value>, Self::Error> {
        load_pages(keys, |companies, page| async move {
            company_search::contact_pages(&self.db, self.scope, &companies, page).await
        })
        .await
    }
}

/// Counts the listed contacts of each company in one `GROUP BY` statement.
pub struct CompanyContactCountLoader {
    pub(super) db: DatabaseConnection,
    pub(super) scope: ProjectScope,
}

impl Loader<Uuid> for CompanyContactCountLoader {
    type Value = u64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, u64>, Self::Error> {
        let mut counts = company_search::contact_counts(&self.db, self.scope, keys).await?;
        for key in keys {
            counts.entry(*key).or_insert(0);
        }
        Ok(counts)
    }
}

/// Primes the loaders for a page of `companies` selected by `look` (the look-ahead of a
/// `companies` connection): the companies themselves (their contacts' `company` then costs
/// nothing), and, when selected, their contacts counts and each page shape of their contacts
/// — one batch statement each, run now in the list's resolver instead of after a DataLoader
/// window, so the count does not depend on when the nested fields ask. Errors: `INTERNAL`
/// (database).
pub async fn prime_company_list(
    ctx: &Context<'_>,
    look: &async_graphql::Lookahead<'_>,
    companies: &[company::Model],
) -> AppResult<()> {
    let Some(loaders) = ctx.data_opt::<Loaders>() else {
        return Ok(());
    };
    loaders
        .companies
        .feed_many(companies.iter().map(|c| (c.id, c.clone())))
        .await;
    if companies.is_empty() {
        return Ok(());
    }
    let nodes = [look.field("nodes"), look.field("edges").field("node")];
    let contacts: Vec<async_graphql::SelectionField<'_>> = nodes
        .iter()
        .flat_map(|n| n.field("contacts").selection_fields())
        .collect();
    let counted = nodes.iter().any(|n| n.field("contactsCount").exists())
        || contacts
            .iter()
            .any(|f| f.selection_set().any(|s| s.name() == "totalCount"));
    let ids: Vec<Uuid> = companies.iter().map(|c| c.id).collect();
    if counted {
        let loaded = loaders.company_contact_counts.loader().load(&ids).await?;
        loaders.company_contact_counts.feed_many(loaded).await;
    }
    let mut pages: Vec<PageArgs> = Vec::new();
    for page in contacts.iter().filter_map(page_of) {
        if !pages.contains(&page) {
            pages.push(page);
        }
    }
    for page in pages {
        let keys: Vec<CompanyContactsKey> = ids
            .iter()
            .map(|&company| CompanyContactsKey { company, page })
            .collect();
        let loaded = loaders.company_contacts.loader().load(&keys).await?;
        loaders.company_contacts.feed_many(loaded).await;
    }
    Ok(())
}

/// How `company(id:)` (or `node(id:)` on a company) loads: what its statement fetches, and
/// the plan of the contacts of the fetched page.
pub struct CompanyPlan<'a> {
    /// What the company's statement fetches.
    pub nested: CompanyNested,
    /// The contacts' plan (their columns and nested relations).
    contacts: Plan<'a>,
}

impl CompanyPlan<'_> {
    /// The plan for the company selection `company`: the first valid `contacts` page with
    /// the columns and relations its `nodes` / `edges.node` select, and the contacts count
    /// when `contactsCount` or `contacts.totalCount` is selected.
    pub fn of<'a>(ctx: &Context<'_>, company: &async_graphql::Lookahead<'a>) -> CompanyPlan<'a> {
        let contacts_fields: Vec<async_graphql::SelectionField<'a>> =
            company.field("contacts").selection_fields();
        let contact = [
            company.field("contacts").field("nodes"),
            company.field("contacts").field("edges").field("node"),
        ];
        let contacts = Loaders::plan(ctx, &contact);
        let page = contacts_fields.iter().find_map(page_of);
        let counted = company.field("contactsCount").exists()
            || contacts_fields
                .iter()
                .any(|f| f.selection_set().any(|s| s.name() == "totalCount"));
        CompanyPlan {
            nested: CompanyNested {
                contacts: page,
                contact: contacts.nested,
                contacts_count: counted,
            },
            contacts,
        }
    }

    /// Feeds what the statement planned by `self` fetched (`found`) to the loaders' caches:
    /// the count, and the page's contacts' nested relations. Returns the company with its
    /// fetched contacts page. Errors: `INTERNAL` (database, priming other page shapes).
    pub async fn fed(
        self,
        ctx: &Context<'_>,
        found: CompanyFound,
    ) -> AppResult<(company::Model, Option<(PageArgs, Page<lead::Model>)>)> {
        let CompanyFound {
            company,
            contacts,
            contacts_count,
        } = found;
        if let Some(loaders) = ctx.data_opt::<Loaders>() {
            loaders
                .companies
                .feed_one(company.id, company.clone())
                .await;
            if let Some(n) = contacts_count {
                loaders.company_contact_counts.feed_one(company.id, n).await;
            }
        }
        let contacts = match contacts {
            Some((args, page, prefetched)) => {
                let ids: Vec<Uuid> = page.rows.iter().map(|m| m.id).collect();
                Loaders::feed(ctx, self.contacts, prefetched, &ids).await?;
                Some((args, page))
            }
            None => None,
        };
        Ok((company, contacts))
    }
}
