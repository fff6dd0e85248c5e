//! Enums of the schema and their stored codes (see `../shared/DOMAIN.md`).

use async_graphql::Enum;
use entity::lead;

use crate::auth::Role as AuthRole;

/// Status of a Contact. Stored as a number: TEMP 50, NORMAL 100, DELETED 1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ContactStatus {
    /// Created proactively; hidden from lists.
    Temp,
    /// An ordinary contact.
    Normal,
    /// Soft-deleted; hidden from lists.
    Deleted,
}

impl From<lead::LeadStatus> for ContactStatus {
    /// A tombstone (MERGED) is never returned; it would read as NORMAL.
    fn from(status: lead::LeadStatus) -> Self {
        match status {
            lead::LeadStatus::Temp => Self::Temp,
            lead::LeadStatus::Deleted => Self::Deleted,
            lead::LeadStatus::Normal | lead::LeadStatus::Merged => Self::Normal,
        }
    }
}

impl From<ContactStatus> for lead::LeadStatus {
    fn from(status: ContactStatus) -> Self {
        match status {
            ContactStatus::Temp => Self::Temp,
            ContactStatus::Normal => Self::Normal,
            ContactStatus::Deleted => Self::Deleted,
        }
    }
}

/// Status of a Request. Stored as a number: TEMP 50, UNASSIGNED 100, ABANDONED 150,
/// ASSIGNED 200, SERVED 300, CLOSED 1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::request::RequestStatus")]
pub enum RequestStatus {
    /// Created but not yet routed.
    Temp,
    /// Waiting for an agent (new requests start here).
    Unassigned,
    /// The visitor left before an agent answered.
    Abandoned,
    /// An agent is assigned.
    Assigned,
    /// Served.
    Served,
    /// Closed (`closedAt` is set).
    Closed,
}

/// Where a Request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum Channel {
    /// The chat widget (stored as `chat21`, the peer's name for it).
    Chat21,
    /// Email.
    Email,
    /// A web form.
    Form,
    /// WhatsApp.
    Whatsapp,
    /// Telegram.
    Telegram,
    /// Facebook Messenger.
    Facebook,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat21 => "chat21",
            Self::Email => "email",
            Self::Form => "form",
            Self::Whatsapp => "whatsapp",
            Self::Telegram => "telegram",
            Self::Facebook => "facebook",
        }
    }

    /// From the stored name (unknown names read as CHAT21).
    pub fn from_stored(value: &str) -> Self {
        match value {
            "email" => Self::Email,
            "form" => Self::Form,
            "whatsapp" => Self::Whatsapp,
            "telegram" => Self::Telegram,
            "facebook" => Self::Facebook,
            _ => Self::Chat21,
        }
    }
}

/// A member's role in a project, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum Role {
    /// Created the project; can do everything.
    Owner,
    /// Manages the project.
    Admin,
    /// Works contacts and requests.
    Agent,
    /// A visitor: sees only its own contact and requests.
    Guest,
}

impl From<Role> for AuthRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Agent => Self::Agent,
            Role::Guest => Self::Guest,
        }
    }
}

impl From<AuthRole> for Role {
    fn from(role: AuthRole) -> Self {
        match role {
            AuthRole::Owner => Self::Owner,
            AuthRole::Admin => Self::Admin,
            AuthRole::Agent => Self::Agent,
            AuthRole::Guest => Self::Guest,
        }
    }
}

/// What kind of user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::user::UserKind")]
pub enum UserKind {
    /// Works the dashboard; signs in with email and password.
    Agent,
    /// A widget visitor signed in anonymously (a random UUID per browser).
    Anonymous,
    /// A widget visitor identified by the integrating site's token (one per external id,
    /// whatever the browser).
    Identified,
}

/// What `contacts` can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ContactOrderField {
    /// Creation time.
    CreatedAt,
    /// Last write time.
    UpdatedAt,
    /// Full name (case-insensitive for ASCII letters; contacts without a name first when
    /// ascending).
    Fullname,
    /// Time of the newest request (contacts without requests count as oldest).
    LastRequestAt,
}

/// Sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A text field of a contact, as merges name it.
// `remote`: `From` both ways with the service's enum of the same variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::service::fields::ContactField")]
pub enum MergeField {
    /// `fullname`.
    Fullname,
    /// `email`.
    Email,
    /// `phone`.
    Phone,
    /// `company`.
    Company,
    /// `note`.
    Note,
    /// `street`.
    Street,
    /// `city`.
    City,
    /// `region`.
    Region,
    /// `zipcode`.
    Zipcode,
    /// `country`.
    Country,
}

/// Why a merge cannot happen (`MergeBlocker.reason`, and `extensions.reason` of the error
/// `mergeContacts` returns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::error::BlockReason")]
pub enum MergeBlockReason {
    /// A secondary is the primary itself (`BAD_USER_INPUT`).
    SelfMerge,
    /// An id is listed twice (`BAD_USER_INPUT`).
    DuplicateId,
    /// No such contact in the agent's project; another project's contacts included
    /// (`NOT_FOUND`).
    NotFound,
    /// The contact is soft-deleted: restore it first (`CONFLICT`).
    Deleted,
    /// The contact was erased (`CONFLICT`).
    Erased,
    /// The contact was already merged into another one (`CONFLICT`).
    AlreadyMerged,
    /// Both contacts are identified visitors with different external ids (`CONFLICT`).
    IdentifiedConflict,
    /// A field choice names a contact outside the merge (`BAD_USER_INPUT`).
    InvalidFieldChoice,
    /// The merged contact would exceed a limit: 100 tags, the attribute limits, 50
    /// additional emails (`BAD_USER_INPUT`).
    TooLarge,
}

/// What the contacts of a duplicate group share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::service::duplicates::DuplicateRule")]
pub enum DuplicateRule {
    /// The same email (compared trimmed, NFC, case-insensitively).
    Email,
    /// The same phone (E.164, or the same national digits).
    Phone,
}

/// What happened to a contact (`ContactEvent.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::lead_event::EventKind")]
pub enum ContactEventKind {
    /// Created (by a visitor's first request or capture, by an agent).
    Created,
    /// One field changed: `field`, `before`, `after`.
    FieldChanged,
    /// Tags added and/or removed: `tagsAdded`, `tagsRemoved`.
    TagsChanged,
    /// A request was opened: `request`.
    RequestCreated,
    /// Other contacts were merged into this one: `mergeId`, `contactIds`.
    Merged,
    /// This contact was merged into another one: `mergeId`, `contactIds` (the survivor).
    MergedInto,
    /// A merge this contact took part in was undone: `mergeId`, `contactIds`.
    Unmerged,
    /// Soft-deleted.
    Deleted,
    /// Restored after a soft delete.
    Restored,
    /// Erased (GDPR): earlier events lost their details.
    Erased,
    /// An agent added a note: `noteId`.
    NoteAdded,
    /// A note was edited: `noteId`.
    NoteEdited,
    /// A note was deleted: `noteId`.
    NoteDeleted,
}

/// The type of a custom attribute's values (`ContactAttributeDefinition.type`). Values are
/// stored in the contact's `attributes` JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::contact_attribute::AttributeType")]
pub enum ContactAttributeType {
    /// A JSON string.
    Text,
    /// A JSON number (compared numerically by filters).
    Number,
    /// `true` or `false`.
    Boolean,
    /// A calendar date, a string `YYYY-MM-DD` (ISO 8601).
    Date,
    /// One of the definition's `options`, a string (matched case-insensitively, stored in
    /// the option's spelling).
    List,
    /// An absolute `http` or `https` URL, a string (stored as given, trimmed).
    Url,
}
