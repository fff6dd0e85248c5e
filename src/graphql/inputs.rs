//! Input objects of the mutations.

use async_graphql::{ID, InputObject, Json, MaybeUndefined};
use serde_json::Value;

use super::types::enums::Channel;
use crate::error::AppResult;
use crate::service::attribute_filters;
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

/// A typed filter on one top-level custom attribute: give `key` and exactly one operator.
/// What an operator means follows the key's definition (`contactAttributes`): NUMBER
/// compares numbers, DATE dates (`YYYY-MM-DD`), TEXT and URL strings (`contains`:
/// case-insensitive substring), LIST its options, BOOLEAN booleans; an undefined (or
/// archived) key compares untyped JSON and allows `eq`, `in`, `contains` and `exists`.
/// `gt`/`lt` apply to NUMBER and DATE only, `contains` to TEXT, URL and undefined keys.
/// Errors: `BAD_USER_INPUT` on `attributeFilters` (no or several operators, an operator the
/// type does not have, a value that does not fit the type, more than 10 filters).
#[derive(Clone, Debug, InputObject)]
pub struct ContactAttributeFilter {
    /// The attribute's key.
    pub key: String,
    /// Equal to this JSON string, number or boolean (a LIST value matches its option
    /// case-insensitively).
    pub eq: Option<Json<Value>>,
    /// Greater than this number (NUMBER) or date `YYYY-MM-DD` (DATE).
    pub gt: Option<Json<Value>>,
    /// Less than this number (NUMBER) or date `YYYY-MM-DD` (DATE).
    pub lt: Option<Json<Value>>,
    /// A string value containing this text, case-insensitively (≤ 200 characters).
    pub contains: Option<String>,
    /// Equal to one of these values (1..=100).
    #[graphql(name = "in")]
    pub one_of: Option<Vec<Json<Value>>>,
    /// Has a non-null value (true) or has none (false).
    pub exists: Option<bool>,
}

impl ContactAttributeFilter {
    /// The filter in the API's terms (what `Segment.filter` shows).
    pub fn from_service(filter: attribute_filters::AttributeFilter) -> Self {
        Self {
            key: filter.key,
            eq: filter.eq.map(Json),
            gt: filter.gt.map(Json),
            lt: filter.lt.map(Json),
            contains: filter.contains,
            one_of: filter.one_of.map(|v| v.into_iter().map(Json).collect()),
            exists: filter.exists,
        }
    }

    /// The service's filter (unchecked: the service checks it against the definitions).
    pub fn into_service(self) -> attribute_filters::AttributeFilter {
        attribute_filters::AttributeFilter {
            key: self.key,
            eq: self.eq.map(|j| j.0),
            gt: self.gt.map(|j| j.0),
            lt: self.lt.map(|j| j.0),
            contains: self.contains,
            one_of: self.one_of.map(|v| v.into_iter().map(|j| j.0).collect()),
            exists: self.exists,
        }
    }
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
    /// Owned by this agent (a `User.id` of `projectMembers`).
    pub owner: Option<ID>,
    /// Only unassigned contacts (true) or only assigned ones (false); not with `owner`.
    pub unassigned: Option<bool>,
    /// Typed filters on custom attributes (all must match; at most 10).
    pub attribute_filters: Option<Vec<ContactAttributeFilter>>,
    /// Only the contacts linked to this company (`Company.id`; another project's matches
    /// nothing).
    pub company_id: Option<ID>,
}

impl ContactFilter {
    /// The service's query for these filters and `order` (the service validates the rest when
    /// it runs). Errors: `BAD_USER_INPUT` (`owner` not a UUID).
    pub fn into_query(self, order: Option<ContactOrder>) -> AppResult<ContactQuery> {
        Ok(ContactQuery {
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
            owner: self
                .owner
                .map(|id| crate::normalize::uuid("owner", &id))
                .transpose()?,
            unassigned: self.unassigned,
            attribute_filters: self
                .attribute_filters
                .unwrap_or_default()
                .into_iter()
                .map(ContactAttributeFilter::into_service)
                .collect(),
            company_id: self.company_id.map(|id| id.0),
            order: order.map(ContactOrder::into_service),
        })
    }
}

impl ContactFilter {
    /// The filter of `query` in the API's terms (what `Segment.filter` shows).
    pub fn from_query(query: &ContactQuery) -> Self {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        Self {
            email: query.email.clone(),
            search: query.search.clone(),
            tags: list(&query.tags),
            status: (!query.statuses.is_empty())
                .then(|| query.statuses.iter().map(|&s| s.into()).collect()),
            created_after: query.created_after,
            created_before: query.created_before,
            has_email: query.has_email,
            attribute: query.attribute.clone().map(|(key, value)| AttributeFilter {
                key,
                equals: Json(value),
            }),
            owner: query.owner.map(|id| ID(id.to_string())),
            unassigned: query.unassigned,
            company_id: query.company_id.clone().map(ID),
            attribute_filters: (!query.attribute_filters.is_empty()).then(|| {
                query
                    .attribute_filters
                    .iter()
                    .cloned()
                    .map(ContactAttributeFilter::from_service)
                    .collect()
            }),
        }
    }

    /// This filter as JSON, in the shape of the `ContactFilter` input (absent filters left
    /// out), so a client can send it back as is.
    pub fn to_json(&self) -> Value {
        use async_graphql::InputType;
        use serde_json::json;
        let mut map = serde_json::Map::new();
        let mut put = |key: &str, value: Value| {
            if !value.is_null() {
                map.insert(key.to_owned(), value);
            }
        };
        // Enums in their GraphQL spelling; `Json` values as the JSON they carry.
        let status = self
            .status
            .as_ref()
            .map(|s| s.to_value().into_json().unwrap_or_default());
        let attribute = self
            .attribute
            .as_ref()
            .map(|a| json!({ "key": a.key, "equals": a.equals.0 }));
        let attribute_filters = self.attribute_filters.as_ref().map(|filters| {
            filters
                .iter()
                .map(|f| {
                    let mut out = serde_json::Map::new();
                    out.insert("key".into(), json!(f.key));
                    let ops = [
                        ("eq", f.eq.as_ref().map(|j| j.0.clone())),
                        ("gt", f.gt.as_ref().map(|j| j.0.clone())),
                        ("lt", f.lt.as_ref().map(|j| j.0.clone())),
                        ("contains", f.contains.as_ref().map(|c| json!(c))),
                        (
                            "in",
                            f.one_of
                                .as_ref()
                                .map(|v| Value::Array(v.iter().map(|j| j.0.clone()).collect())),
                        ),
                        ("exists", f.exists.map(Value::Bool)),
                    ];
                    for (op, value) in ops {
                        if let Some(value) = value {
                            out.insert(op.into(), value);
                        }
                    }
                    Value::Object(out)
                })
                .collect::<Vec<_>>()
        });
        put("email", json!(self.email));
        put("search", json!(self.search));
        put("tags", json!(self.tags));
        put("status", json!(status));
        put("createdAfter", json!(self.created_after));
        put("createdBefore", json!(self.created_before));
        put("hasEmail", json!(self.has_email));
        put("attribute", json!(attribute));
        put("owner", json!(self.owner.as_ref().map(|id| id.0.clone())));
        put("unassigned", json!(self.unassigned));
        put(
            "companyId",
            json!(self.company_id.as_ref().map(|id| id.0.clone())),
        );
        put("attributeFilters", json!(attribute_filters));
        Value::Object(map)
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
    /// Accept only defined (not archived) attribute keys on every write of contact
    /// attributes (`BAD_USER_INPUT` on `attributes.<key>` otherwise). Default off.
    pub strict_attributes: Option<bool>,
    /// Link a contact without a company to the company whose `domain` is its new email's
    /// domain (never a free-mail provider's; never creating a company). Default off.
    pub link_company_by_email_domain: Option<bool>,
}

/// Input of `defineContactAttribute`.
#[derive(Debug, InputObject)]
pub struct DefineContactAttributeInput {
    /// The key in the contacts' `attributes` (1..=100 characters, no quotes, backslashes or
    /// control characters); unique per project; immutable.
    pub key: String,
    /// The name shown to agents (1..=100 characters).
    pub label: String,
    /// The type of the values; immutable.
    #[graphql(name = "type")]
    pub value_type: super::types::enums::ContactAttributeType,
    /// The choices of a LIST (1..=100, each 1..=100 characters, distinct
    /// case-insensitively); not given for other types.
    pub options: Option<Vec<String>>,
}

/// Input of `updateContactAttribute`: absent fields are left alone. The key and the type
/// cannot change (values are stored under the key in every contact).
#[derive(Debug, InputObject)]
pub struct UpdateContactAttributeInput {
    /// The definition.
    pub id: ID,
    /// A new label (1..=100 characters).
    pub label: Option<String>,
    /// The whole new list of a LIST's options (add, remove, reorder, respell; values already
    /// stored are left as they are).
    pub options: Option<Vec<String>>,
}

/// Input of `archiveContactAttribute` and `restoreContactAttribute`.
#[derive(Debug, InputObject)]
pub struct ContactAttributeIdInput {
    /// The definition.
    pub id: ID,
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

/// Input of `addContactNote`.
#[derive(Debug, InputObject)]
pub struct AddContactNoteInput {
    /// The contact (`Contact.id`).
    pub contact_id: ID,
    /// The text: multi-line, 1..=10,000 characters (trimmed, NFC).
    pub body: String,
}

/// Input of `updateContactNote`.
#[derive(Debug, InputObject)]
pub struct UpdateContactNoteInput {
    /// The note (`ContactNote.id`).
    pub id: ID,
    /// The new text: multi-line, 1..=10,000 characters (trimmed, NFC).
    pub body: String,
}

/// Input of `deleteContactNote`.
#[derive(Debug, InputObject)]
pub struct ContactNoteIdInput {
    /// The note (`ContactNote.id`).
    pub id: ID,
}

/// Input of `addProjectMember`.
#[derive(Debug, InputObject)]
pub struct AddProjectMemberInput {
    /// The sign-in email of an existing agent account (case-insensitive).
    pub email: String,
    /// Its role in the project: AGENT when absent, ADMIN, or OWNER (OWNER callers only).
    pub role: Option<super::types::enums::Role>,
}

/// Input of `removeProjectMember`.
#[derive(Debug, InputObject)]
pub struct RemoveProjectMemberInput {
    /// The agent's user id (`ProjectMember.user.id`).
    pub user_id: ID,
}

/// Input of `saveSegment`.
#[derive(Debug, InputObject)]
pub struct SaveSegmentInput {
    /// The segment to replace; absent: a new segment.
    pub id: Option<ID>,
    /// Its name (1..=100 characters, unique in the project, case-insensitively).
    pub name: String,
    /// Which contacts it holds (the filters of `contacts`).
    pub filter: ContactFilter,
}

/// Input of `deleteSegment`.
#[derive(Debug, InputObject)]
pub struct SegmentIdInput {
    /// The segment (`Segment.id`).
    pub id: ID,
}

/// Input of `updateContacts`: what to change on every selected contact. An absent field is left
/// alone; an explicit `null` (or a blank string) clears it. Email and phone identify one
/// person and are changed contact by contact (`updateContact`).
#[derive(Debug, Default, InputObject)]
pub struct UpdateContactsInput {
    /// Company.
    pub company: MaybeUndefined<String>,
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
    /// Attributes merged into each contact's by top-level key.
    pub attributes: Option<Json<Value>>,
    /// Attribute keys removed from each contact (after `attributes`).
    #[graphql(default)]
    pub remove_attribute_keys: Vec<String>,
}

impl UpdateContactsInput {
    /// The text fields as a patch: absent keeps, `null` clears, a value sets.
    pub fn fields(&self) -> ContactFields {
        let patch = |v: &MaybeUndefined<String>| match v {
            MaybeUndefined::Undefined => Patch::Keep,
            MaybeUndefined::Null => Patch::Clear,
            MaybeUndefined::Value(v) => Patch::Set(v.clone()),
        };
        [
            (ContactField::Company, &self.company),
            (ContactField::Street, &self.street),
            (ContactField::City, &self.city),
            (ContactField::Region, &self.region),
            (ContactField::Zipcode, &self.zipcode),
            (ContactField::Country, &self.country),
        ]
        .into_iter()
        .fold(ContactFields::default(), |p, (f, v)| p.with(f, patch(v)))
    }
}
