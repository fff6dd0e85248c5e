//! Input objects of the mutations.

use async_graphql::{ID, InputObject, Json, MaybeUndefined};
use serde_json::Value;

use super::types::enums::Channel;
use crate::error::AppResult;
use crate::service::contact_search::{ContactQuery, Direction, OrderField};
use crate::service::fields::{ContactField, ContactFields, Patch};

/// Input of `signUp`.
#[derive(Debug, InputObject)]
pub struct SignUpInput {
    /// The agent's email: the sign-in name (unique, case-insensitive).
    pub email: String,
    /// At least 8 characters, at most 1,024 bytes.
    pub password: String,
    /// The agent's full name (≤ 200 characters).
    pub fullname: Option<String>,
    /// Name of the new project (1..=200 characters).
    pub project_name: String,
}

/// Input of `signIn`.
#[derive(Debug, InputObject)]
pub struct SignInInput {
    /// The agent's email (case-insensitive).
    pub email: String,
    /// The agent's password.
    pub password: String,
    /// The project to scope the token to; may be omitted when the agent has exactly one.
    pub project_id: Option<ID>,
}

/// Input of `signInAnonymously`: the widget's visitor.
#[derive(Debug, InputObject)]
pub struct SignInAnonymouslyInput {
    /// The project whose widget the visitor uses.
    pub project_id: ID,
    /// First name (≤ 100 characters).
    pub firstname: Option<String>,
    /// Last name (≤ 100 characters).
    pub lastname: Option<String>,
    /// Email (validated; copied to the contact when it is created).
    pub email: Option<String>,
    /// Custom attributes (a JSON object; copied to the contact when it is created).
    pub attributes: Option<Json<Value>>,
}

/// Input of `createRequest`.
#[derive(Debug, InputObject)]
pub struct CreateRequestInput {
    /// The visitor's first message (1..=10,000 characters; line breaks allowed).
    pub first_text: String,
    /// Where the request comes from; CHAT21 (the widget) by default.
    pub channel: Option<Channel>,
    /// Custom attributes of the conversation (a JSON object).
    pub attributes: Option<Json<Value>>,
}

/// Input of `captureContactMetadata`. Absent, null or blank fields leave stored values alone.
#[derive(Debug, InputObject)]
pub struct CaptureContactMetadataInput {
    /// Full name (≤ 200 characters).
    pub fullname: Option<String>,
    /// Email (RFC 5322 syntax, ≤ 254 bytes); matched case-insensitively.
    pub email: Option<String>,
    /// Phone: `+` and country code for E.164 (a leading `00` counts as `+`), else national
    /// digits (4..=15).
    pub phone: Option<String>,
    /// Custom attributes: a JSON object merged into the stored one by top-level key.
    pub attributes: Option<Json<Value>>,
}

/// Filter on one top-level custom attribute.
#[derive(Clone, Debug, InputObject)]
pub struct AttributeFilter {
    /// The attribute's key.
    pub key: String,
    /// The value it must equal: a JSON string, number or boolean.
    pub equals: Json<Value>,
}

/// Order of `contacts`.
#[derive(Debug, InputObject)]
pub struct ContactOrder {
    /// The sort key (the contact id breaks ties).
    pub field: super::types::enums::ContactOrderField,
    /// The direction; DESC by default.
    #[graphql(default_with = "super::types::enums::OrderDirection::Desc")]
    pub direction: super::types::enums::OrderDirection,
}

/// The filters of a contact list: the arguments of `contacts`, as one object (saved segments
/// and bulk actions take it). Filters combine with AND; an absent one does not filter.
#[derive(Clone, Debug, Default, InputObject)]
pub struct ContactFilter {
    /// Exact email match (case- and whitespace-insensitive).
    pub email: Option<String>,
    /// Full-text search (prefix words over name, email, phone, company; ≤ 200 characters).
    pub search: Option<String>,
    /// Tags that must all be present (case-insensitive).
    pub tags: Option<Vec<String>>,
    /// Statuses to include (default: NORMAL only).
    pub status: Option<Vec<super::types::enums::ContactStatus>>,
    /// Created at or after this time.
    pub created_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Created strictly before this time.
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
    /// Only contacts with (true) or without (false) an email.
    pub has_email: Option<bool>,
    /// A top-level custom attribute equal to a JSON scalar.
    pub attribute: Option<AttributeFilter>,
    /// Only the contacts linked to this company (`Company.id`; another project's matches
    /// nothing).
    pub company_id: Option<ID>,
}

impl ContactFilter {
    /// The service's query for these filters and `order` (unchecked: the service validates
    /// it when it runs).
    pub fn into_query(self, order: Option<ContactOrder>) -> ContactQuery {
        ContactQuery {
            search: self.search,
            email: self.email,
            tags: self.tags.unwrap_or_default(),
            statuses: self
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            created_after: self.created_after,
            created_before: self.created_before,
            has_email: self.has_email,
            attribute: self.attribute.map(|a| (a.key, a.equals.0)),
            company_id: self.company_id.map(|id| id.0),
            order: order.map(ContactOrder::into_service),
        }
    }
}

impl ContactOrder {
    /// The service's order.
    pub fn into_service(self) -> (OrderField, Direction) {
        use super::types::enums::{ContactOrderField as F, OrderDirection as D};
        let field = match self.field {
            F::CreatedAt => OrderField::CreatedAt,
            F::UpdatedAt => OrderField::UpdatedAt,
            F::Fullname => OrderField::Fullname,
            F::LastRequestAt => OrderField::LastRequestAt,
        };
        let direction = match self.direction {
            D::Asc => Direction::Asc,
            D::Desc => Direction::Desc,
        };
        (field, direction)
    }
}

/// Input of `createContact`: a contact created by an agent.
#[derive(Debug, Default, InputObject)]
pub struct CreateContactInput {
    /// The id to key the contact by (a visitor's user id, or your own system's id); a new
    /// UUID when absent. Unique per project.
    pub lead_id: Option<String>,
    /// Full name (≤ 200 characters).
    pub fullname: Option<String>,
    /// Email (validated; matched case-insensitively).
    pub email: Option<String>,
    /// Phone (E.164 with `+`, else national digits).
    pub phone: Option<String>,
    /// The company, by name (≤ 200 characters): the project's company of that name
    /// (case-insensitive), created when there is none. Give this or `companyId`.
    pub company: Option<String>,
    /// The company, by id (`Company.id`). Give this or `company`.
    pub company_id: Option<ID>,
    /// Note (≤ 10,000 characters).
    pub note: Option<String>,
    /// Street (≤ 200 characters).
    pub street: Option<String>,
    /// City (≤ 200 characters).
    pub city: Option<String>,
    /// Region (≤ 200 characters).
    pub region: Option<String>,
    /// Postal code (≤ 200 characters).
    pub zipcode: Option<String>,
    /// Country (≤ 200 characters).
    pub country: Option<String>,
    /// Tags (trimmed, de-duplicated case-insensitively; ≤ 64 characters each, ≤ 100).
    pub tags: Option<Vec<String>>,
    /// Custom attributes (a JSON object).
    pub attributes: Option<Json<Value>>,
}

/// Input of `updateContact`: a partial update. An absent field is left alone; an explicit
/// `null` (or a blank string) clears it.
#[derive(Debug, InputObject)]
pub struct UpdateContactInput {
    /// The contact.
    pub id: ID,
    /// The `version` the client last read; the update fails with `CONFLICT` when the
    /// contact has changed since.
    pub expected_version: i32,
    /// Full name.
    pub fullname: MaybeUndefined<String>,
    /// Email.
    pub email: MaybeUndefined<String>,
    /// Phone.
    pub phone: MaybeUndefined<String>,
    /// The company, by name: the project's company of that name (case-insensitive), created
    /// when there is none; `null` (or blank) unlinks. Give this or `companyId`.
    pub company: MaybeUndefined<String>,
    /// The company, by id (`Company.id`); `null` unlinks. Give this or `company`.
    pub company_id: MaybeUndefined<ID>,
    /// Note.
    pub note: MaybeUndefined<String>,
    /// Street.
    pub street: MaybeUndefined<String>,
    /// City.
    pub city: MaybeUndefined<String>,
    /// Region.
    pub region: MaybeUndefined<String>,
    /// Postal code.
    pub zipcode: MaybeUndefined<String>,
    /// Country.
    pub country: MaybeUndefined<String>,
}

/// The text fields of a contact input, each with its [`ContactField`] (the input types list
/// them as GraphQL fields; this is the one place that pairs them).
macro_rules! text_fields {
    ($input:expr) => {
        [
            (ContactField::Fullname, &$input.fullname),
            (ContactField::Email, &$input.email),
            (ContactField::Phone, &$input.phone),
            (ContactField::Company, &$input.company),
            (ContactField::Note, &$input.note),
            (ContactField::Street, &$input.street),
            (ContactField::City, &$input.city),
            (ContactField::Region, &$input.region),
            (ContactField::Zipcode, &$input.zipcode),
            (ContactField::Country, &$input.country),
        ]
    };
}

impl CreateContactInput {
    /// The text fields as a patch (an absent field stays empty).
    pub fn fields(&self) -> ContactFields {
        let set = |v: &Option<String>| v.clone().map_or(Patch::Keep, Patch::Set);
        text_fields!(self)
            .into_iter()
            .fold(ContactFields::default(), |p, (f, v)| p.with(f, set(v)))
    }

    /// `companyId`. Errors: `BAD_USER_INPUT` on `companyId` (not an id).
    pub fn company_id(&self) -> AppResult<Option<uuid::Uuid>> {
        self.company_id
            .as_ref()
            .map(|id| crate::normalize::uuid("companyId", id))
            .transpose()
    }
}

impl UpdateContactInput {
    /// The text fields as a patch: absent keeps, `null` clears, a value sets.
    pub fn fields(&self) -> ContactFields {
        text_fields!(self)
            .into_iter()
            .fold(ContactFields::default(), |p, (f, v)| p.with(f, patch(v)))
    }

    /// `companyId` as a patch. Errors: `BAD_USER_INPUT` on `companyId` (not an id).
    pub fn company_id(&self) -> AppResult<Patch<uuid::Uuid>> {
        Ok(match patch(&self.company_id) {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(id) => Patch::Set(crate::normalize::uuid("companyId", &id)?),
        })
    }
}

/// A `MaybeUndefined` input as a patch: absent keeps, `null` clears, a value sets.
pub fn patch<T: Clone>(value: &MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v.clone()),
    }
}

/// Input of `setContactAttributes`.
#[derive(Debug, InputObject)]
pub struct SetContactAttributesInput {
    /// The contact.
    pub id: ID,
    /// Keys to set (merged by top-level key into the stored object).
    pub attributes: Option<Json<Value>>,
    /// Top-level keys to remove (applied after `attributes`).
    #[graphql(default)]
    pub remove_keys: Vec<String>,
}

/// Input of `addContactTags` and `removeContactTags`.
#[derive(Debug, InputObject)]
pub struct ContactTagsInput {
    /// The contact.
    pub id: ID,
    /// Tags (trimmed; compared case-insensitively).
    pub tags: Vec<String>,
}

/// Input of the single-contact mutations `deleteContact`, `restoreContact`, `eraseContact`.
#[derive(Debug, InputObject)]
pub struct ContactIdInput {
    /// The contact.
    pub id: ID,
}

/// "Take `field` from contact `contactId`" in a merge (overrides the primary-wins rule, even
/// with an empty value).
#[derive(Debug, InputObject)]
pub struct MergeFieldChoiceInput {
    /// The field.
    pub field: super::types::enums::MergeField,
    /// The primary or one of the secondaries.
    pub contact_id: ID,
}

/// A contact's `version` as the client last saw it.
#[derive(Debug, InputObject)]
pub struct ContactVersionInput {
    /// The contact (primary or a secondary).
    pub contact_id: ID,
    /// Its `version`.
    pub version: i32,
}

/// Input of `mergeContactsPreview`.
#[derive(Debug, InputObject)]
pub struct MergeContactsPreviewInput {
    /// The contact that survives.
    pub primary_id: ID,
    /// The contacts merged into it (1..=20), in priority order for filling empty fields.
    pub secondary_ids: Vec<ID>,
    /// Per-field overrides.
    pub field_choices: Option<Vec<MergeFieldChoiceInput>>,
}

/// Input of `mergeContacts`.
#[derive(Debug, InputObject)]
pub struct MergeContactsInput {
    /// The contact that survives.
    pub primary_id: ID,
    /// The contacts merged into it (1..=20), in priority order for filling empty fields.
    pub secondary_ids: Vec<ID>,
    /// Optimistic concurrency: each listed contact must still have this `version` (take
    /// them from `mergeContactsPreview.contacts`); a stale one fails with `CONFLICT`.
    pub expected_versions: Option<Vec<ContactVersionInput>>,
    /// Per-field overrides.
    pub field_choices: Option<Vec<MergeFieldChoiceInput>>,
}

/// Input of `unmergeContacts`.
#[derive(Debug, InputObject)]
pub struct UnmergeContactsInput {
    /// The `mergeId` `mergeContacts` returned (also on `MERGED` timeline events).
    pub merge_id: ID,
}

/// Input of `updateProjectSettings`. Absent fields are left alone.
#[derive(Debug, InputObject)]
pub struct UpdateProjectSettingsInput {
    /// Merge a visitor's contact automatically into the project's contact with the same
    /// email when the visitor captures it (journaled, undoable). Default off.
    pub auto_merge_on_email: Option<bool>,
    /// Link a contact without a company to the company whose `domain` is its new email's
    /// domain (never a free-mail provider's; never creating a company). Default off.
    pub link_company_by_email_domain: Option<bool>,
}

/// Input of `createCompany`.
#[derive(Debug, InputObject)]
pub struct CreateCompanyInput {
    /// The name (1..=200 characters after trimming).
    pub name: String,
    /// The web domain, or a URL of it (`acme.io`, `https://www.acme.io/about`): stored as
    /// the lower-case ASCII host without `www.`; unique in the project.
    pub domain: Option<String>,
    /// Custom attributes (a JSON object; the contacts' limits).
    pub attributes: Option<Json<Value>>,
}

/// Input of `updateCompany`: a partial update. An absent field is left alone; `null`
/// clears `domain` and `attributes` (the name cannot be cleared).
#[derive(Debug, InputObject)]
pub struct UpdateCompanyInput {
    /// The company.
    pub id: ID,
    /// The `version` the client last read; the update fails with `CONFLICT` when the
    /// company has changed since.
    pub expected_version: i32,
    /// The name (1..=200 characters); linked contacts show the new name.
    pub name: MaybeUndefined<String>,
    /// The web domain or a URL of it; unique in the project.
    pub domain: MaybeUndefined<String>,
    /// Custom attributes: the whole object is replaced.
    pub attributes: MaybeUndefined<Json<Value>>,
}

/// Input of `deleteCompany`.
#[derive(Debug, InputObject)]
pub struct DeleteCompanyInput {
    /// The company.
    pub id: ID,
}

/// Input of `signInWithCustomToken`.
#[derive(Debug, InputObject)]
pub struct SignInWithCustomTokenInput {
    /// The project whose widget the visitor uses.
    pub project_id: ID,
    /// The site's JWT: HS256 with the project's site secret; claims `external_id`
    /// (required), `email`, `fullname` (optional), `exp` (required).
    pub token: String,
}

/// Input of `identifyVisitor`.
#[derive(Debug, InputObject)]
pub struct IdentifyVisitorInput {
    /// The site's JWT (see `SignInWithCustomTokenInput.token`).
    pub token: String,
}

fn merge_ids(
    primary_id: &ID,
    secondary_ids: &[ID],
    field_choices: Option<Vec<MergeFieldChoiceInput>>,
) -> crate::error::AppResult<crate::service::merge::MergeInput> {
    use crate::normalize::uuid;
    use crate::service::merge::{FieldChoice, MergeInput, check_secondary_count};
    // Before parsing the ids, so an oversized list costs nothing.
    check_secondary_count(secondary_ids.len())?;
    Ok(MergeInput {
        primary_id: uuid("primaryId", primary_id)?,
        secondary_ids: secondary_ids
            .iter()
            .map(|id| uuid("secondaryIds", id))
            .collect::<Result<_, _>>()?,
        field_choices: field_choices
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                Ok(FieldChoice {
                    field: c.field.into(),
                    contact_id: uuid("fieldChoices", &c.contact_id)?,
                })
            })
            .collect::<crate::error::AppResult<_>>()?,
        expected_versions: Vec::new(),
    })
}

impl MergeContactsPreviewInput {
    /// The service's input. Errors: `BAD_USER_INPUT` (`primaryId`, `secondaryIds`,
    /// `fieldChoices`).
    pub fn to_service(self) -> crate::error::AppResult<crate::service::merge::MergeInput> {
        merge_ids(&self.primary_id, &self.secondary_ids, self.field_choices)
    }
}

impl MergeContactsInput {
    /// The service's input. Errors: `BAD_USER_INPUT` (`primaryId`, `secondaryIds`,
    /// `fieldChoices`, `expectedVersions`).
    pub fn to_service(self) -> crate::error::AppResult<crate::service::merge::MergeInput> {
        let mut input = merge_ids(&self.primary_id, &self.secondary_ids, self.field_choices)?;
        input.expected_versions = self
            .expected_versions
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                Ok(crate::service::merge::ExpectedVersion {
                    contact_id: crate::normalize::uuid("expectedVersions", &v.contact_id)?,
                    version: v.version,
                })
            })
            .collect::<crate::error::AppResult<_>>()?;
        Ok(input)
    }
}
