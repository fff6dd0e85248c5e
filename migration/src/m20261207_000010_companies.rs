//! Companies (issue #16).
//!
//! - `company(id, project_id, name, name_key, domain, attributes, version, created_at,
//!   updated_at)`: `name` as typed (trimmed, NFC), `name_key` its lower-cased match key
//!   (indexed with the project: `companies(search:)`, the by-name link); `domain` normalised
//!   (lower-case ASCII, no scheme, path, port or `www.`), unique per project where not null
//!   (a partial unique index: SQLite and PostgreSQL both have them).
//! - `lead.company_id` (NULL: no company), indexed with `project_id` (a company's contacts).
//!   `lead.company` stays: the linked company's name, kept in sync by the server, so the
//!   full-text search over it (triggers / generated column) keeps working unchanged.
//! - `project.link_company_by_email_domain` (default false).
//! - Data: each distinct non-blank `lead.company` of a project, compared trimmed and
//!   lower-cased, becomes one company named after its most frequent spelling (ties: the
//!   smallest); every Lead with it is linked and its `company` text set to that name. A name
//!   that is a bare ASCII domain (`acme.io`, `www.Acme.io`) also becomes the company's domain
//!   (lower-cased, without `www.`), unless another company of the project took it first.
//!   No version bump, no timeline event: the contacts' data did not change meaning.
//!
//! `down` drops the index, the columns and the table (the `company` texts keep the chosen
//! spelling).

use std::collections::{BTreeMap, HashSet};

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Project {
    Table,
    Id,
    LinkCompanyByEmailDomain,
}

#[derive(DeriveIden, Clone, Copy)]
enum Lead {
    Table,
    Id,
    ProjectId,
    Company,
    CompanyId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Company {
    Table,
    Id,
    ProjectId,
    Name,
    NameKey,
    Domain,
    Attributes,
    Version,
    CreatedAt,
    UpdatedAt,
}

const NAME_INDEX: &str = "idx_company_project_name";
const DOMAIN_INDEX: &str = "idx_company_project_domain";
const LEAD_INDEX: &str = "idx_lead_project_company";

/// Leads updated per statement by the data migration.
const CHUNK: usize = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Company::Table)
                    .col(pk_uuid(Company::Id))
                    .col(uuid(Company::ProjectId))
                    .col(text(Company::Name))
                    .col(text(Company::NameKey))
                    .col(text_null(Company::Domain))
                    .col(json_binary(Company::Attributes))
                    .col(integer(Company::Version))
                    .col(timestamp_with_time_zone(Company::CreatedAt))
                    .col(timestamp_with_time_zone(Company::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Company::Table, Company::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(NAME_INDEX)
                    .table(Company::Table)
                    .col(Company::ProjectId)
                    .col(Company::NameKey)
                    .col(Company::Id)
                    .to_owned(),
            )
            .await?;
        // Partial: many companies of a project have no domain. Same text on both databases.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {DOMAIN_INDEX} ON company (project_id, domain) \
                 WHERE domain IS NOT NULL"
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Lead::Table)
                    .add_column(ColumnDef::new(Lead::CompanyId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(LEAD_INDEX)
                    .table(Lead::Table)
                    .col(Lead::ProjectId)
                    .col(Lead::CompanyId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Project::Table)
                    .add_column(
                        boolean(Project::LinkCompanyByEmailDomain)
                            .default(false)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        migrate_company_texts(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Project::Table)
                    .drop_column(Project::LinkCompanyByEmailDomain)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(LEAD_INDEX).table(Lead::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Lead::Table)
                    .drop_column(Lead::CompanyId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Company::Table).to_owned())
            .await
    }
}

/// The Leads of one (project, name key) and the spellings they use.
#[derive(Default)]
struct Group {
    leads: Vec<uuid::Uuid>,
    /// Spelling → how many Leads use it (ordered, so ties go to the smallest).
    spellings: BTreeMap<String, usize>,
}

/// The company texts of every Lead become companies (see the module's doc).
async fn migrate_company_texts(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let select = Query::select()
        .columns([Lead::Id, Lead::ProjectId, Lead::Company])
        .from(Lead::Table)
        .and_where(Expr::col(Lead::Company).is_not_null())
        .to_owned();
    let rows = db.query_all_raw(backend.build(&select)).await?;
    let mut groups: BTreeMap<(uuid::Uuid, String), Group> = BTreeMap::new();
    for row in rows {
        let id: uuid::Uuid = row.try_get("", "id")?;
        let project: uuid::Uuid = row.try_get("", "project_id")?;
        let text: String = row.try_get("", "company")?;
        let spelling = text.trim().to_owned();
        if spelling.is_empty() {
            continue;
        }
        // The server's name key: the stored text is already NFC (every write path
        // normalises it), so trimming and lower-casing is the same key.
        let group = groups
            .entry((project, spelling.to_lowercase()))
            .or_default();
        group.leads.push(id);
        *group.spellings.entry(spelling).or_default() += 1;
    }
    let now = chrono::Utc::now();
    let mut domains: HashSet<(uuid::Uuid, String)> = HashSet::new();
    for ((project, key), group) in groups {
        let mut name = String::new();
        let mut best = 0;
        for (spelling, n) in &group.spellings {
            if *n > best {
                best = *n;
                name = spelling.clone();
            }
        }
        let domain = bare_domain(&key).filter(|d| domains.insert((project, d.clone())));
        let id = uuid::Uuid::new_v4();
        let insert = Query::insert()
            .into_table(Company::Table)
            .columns([
                Company::Id,
                Company::ProjectId,
                Company::Name,
                Company::NameKey,
                Company::Domain,
                Company::Attributes,
                Company::Version,
                Company::CreatedAt,
                Company::UpdatedAt,
            ])
            .values_panic([
                id.into(),
                project.into(),
                name.clone().into(),
                key.into(),
                domain.into(),
                serde_json::json!({}).into(),
                1.into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        db.execute_raw(backend.build(&insert)).await?;
        for chunk in group.leads.chunks(CHUNK) {
            let update = Query::update()
                .table(Lead::Table)
                .value(Lead::CompanyId, id)
                .value(Lead::Company, name.clone())
                .and_where(Expr::col(Lead::ProjectId).eq(project))
                .and_where(Expr::col(Lead::Id).is_in(chunk.iter().copied()))
                .to_owned();
            let stmt: Statement = backend.build(&update);
            db.execute_raw(stmt).await?;
        }
    }
    Ok(())
}

/// `text` (trimmed, lower-cased) as a domain when it is a bare ASCII domain name: labels of
/// letters, digits and inner hyphens, at least two, the last alphabetic (2+ letters); leading
/// `www.` labels are dropped while a domain remains. `acme.io` → `acme.io`; `Acme Inc`, `acme`, `1.2.3.4` → `None`.
/// (What the server's domain normaliser makes of the same input, for this ASCII subset.)
fn bare_domain(text: &str) -> Option<String> {
    let mut text = text;
    while let Some(rest) = text.strip_prefix("www.").filter(|r| r.contains('.')) {
        text = rest;
    }
    let labels: Vec<&str> = text.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let tld = labels.last()?;
    let ok = labels.len() >= 2
        && text.len() <= 253
        && labels.iter().all(label_ok)
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_lowercase());
    ok.then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::bare_domain;

    #[test]
    fn bare_domains() {
        assert_eq!(bare_domain("acme.io").as_deref(), Some("acme.io"));
        assert_eq!(bare_domain("www.acme.co.uk").as_deref(), Some("acme.co.uk"));
        assert_eq!(bare_domain("www.www.acme.io").as_deref(), Some("acme.io"));
        assert_eq!(bare_domain("www.com").as_deref(), Some("www.com"));
        assert_eq!(
            bare_domain("my-shop.example").as_deref(),
            Some("my-shop.example")
        );
        for no in [
            "acme",
            "acme inc",
            "acme.io/x",
            "1.2.3.4",
            "-a.io",
            "a..io",
            "acme.i",
            "a@b.io",
            "acme.io:80",
            "",
        ] {
            assert_eq!(bare_domain(no), None, "{no}");
        }
    }
}
