//! Merge preview and results, and the duplicate finder's groups.

use async_graphql::{ID, Json, Object, SimpleObject};
use serde_json::Value;

use super::connection::PageInfo;
use super::contact::Contact;
use super::enums::{DuplicateRule, MergeBlockReason, MergeField};
use crate::service::duplicates::{self, DuplicatePage};
use crate::service::merge::{Blocker, Preview};

fn id(u: uuid::Uuid) -> ID {
    ID(u.to_string())
}

/// Another contact's value of a field that differs from the surviving one.
#[derive(SimpleObject)]
pub struct MergeFieldConflict {
    /// The contact holding it.
    pub contact_id: ID,
    /// Its value.
    pub value: String,
}

/// What a merge does to one field.
#[derive(SimpleObject)]
pub struct MergeFieldOutcome {
    /// The field.
    pub field: MergeField,
    /// The value that survives (null: every contact's is empty).
    pub value: Option<String>,
    /// The contact it comes from.
    pub source_contact_id: Option<ID>,
    /// Differing non-empty values of the other contacts (they stay on the merged-away
    /// contacts and in the journal; differing emails also go to `additionalEmails`).
    pub conflicts: Vec<MergeFieldConflict>,
}

/// One contact's value of an attribute.
#[derive(SimpleObject)]
pub struct MergeAttributeValue {
    /// The contact.
    pub contact_id: ID,
    /// Its value (JSON).
    pub value: Json<Value>,
}

/// An attribute key whose values differ between the contacts.
#[derive(SimpleObject)]
pub struct MergeAttributeConflict {
    /// The key.
    pub key: String,
    /// The contact whose value survives (the primary, else the first secondary with the
    /// key).
    pub source_contact_id: ID,
    /// Every contact's value, primary first.
    pub values: Vec<MergeAttributeValue>,
}

/// A reason the merge cannot happen.
#[derive(SimpleObject)]
pub struct MergeBlocker {
    /// Why (also `extensions.reason` of the error `mergeContacts` would return).
    pub reason: MergeBlockReason,
    /// The `extensions.code` `mergeContacts` would return for it.
    pub code: String,
    /// The contact concerned, when one is.
    pub contact_id: Option<ID>,
    /// A human-readable explanation.
    pub message: String,
}

impl From<Blocker> for MergeBlocker {
    fn from(b: Blocker) -> Self {
        Self {
            reason: b.reason.into(),
            code: b.reason.code().as_str().to_owned(),
            contact_id: b.contact_id.map(id),
            message: b.message,
        }
    }
}

/// What `mergeContacts` would do with the same input, computed without writing anything.
pub struct MergeContactsPreview(pub Preview);

/// What `mergeContacts` would do with the same input (nothing is written). `canMerge` is
/// false when `blockers` is not empty; the result fields are null when the contacts could not
/// be combined at all.
#[Object]
impl MergeContactsPreview {
    /// Whether the merge can go ahead now.
    async fn can_merge(&self) -> bool {
        self.0.blockers.is_empty() && self.0.plan.is_some()
    }

    /// Every reason it cannot.
    async fn blockers(&self) -> Vec<MergeBlocker> {
        self.0
            .blockers
            .iter()
            .cloned()
            .map(MergeBlocker::from)
            .collect()
    }

    /// The involved contacts as they are now (primary first): pass their `version`s as
    /// `expectedVersions` to `mergeContacts`.
    async fn contacts(&self) -> Vec<Contact> {
        self.0.contacts.iter().cloned().map(Contact).collect()
    }

    /// One outcome per field: surviving value, its source, conflicts.
    async fn fields(&self) -> Vec<MergeFieldOutcome> {
        let Some(plan) = &self.0.plan else {
            return Vec::new();
        };
        plan.fields
            .iter()
            .map(|f| MergeFieldOutcome {
                field: f.field.into(),
                value: f.value.clone(),
                source_contact_id: f.source.map(id),
                conflicts: f
                    .conflicts
                    .iter()
                    .map(|(c, v)| MergeFieldConflict {
                        contact_id: id(*c),
                        value: v.clone(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The surviving contact's attributes (a JSON object); null when blocked before planning.
    async fn attributes(&self) -> Option<Json<Value>> {
        self.0
            .plan
            .as_ref()
            .map(|p| Json(p.merged.attributes.clone()))
    }

    /// Attribute keys with differing values.
    async fn attribute_conflicts(&self) -> Vec<MergeAttributeConflict> {
        let Some(plan) = &self.0.plan else {
            return Vec::new();
        };
        plan.attribute_conflicts
            .iter()
            .map(|c| MergeAttributeConflict {
                key: c.key.clone(),
                source_contact_id: id(c.source),
                values: c
                    .values
                    .iter()
                    .map(|(contact, v)| MergeAttributeValue {
                        contact_id: id(*contact),
                        value: Json(v.clone()),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The surviving contact's tags.
    async fn tags(&self) -> Vec<String> {
        self.0
            .plan
            .as_ref()
            .map(|p| crate::normalize::stored_tags(&p.merged.tags))
            .unwrap_or_default()
    }

    /// The surviving contact's additional emails.
    async fn additional_emails(&self) -> Vec<String> {
        self.0
            .plan
            .as_ref()
            .map(|p| crate::normalize::stored_tags(&p.merged.additional_emails))
            .unwrap_or_default()
    }

    /// How many requests move to the primary.
    async fn requests_to_move(&self) -> u64 {
        self.0.requests_to_move
    }

    /// Tags the primary gains.
    async fn tags_added(&self) -> Vec<String> {
        self.0
            .plan
            .as_ref()
            .map(|p| p.tags_added.clone())
            .unwrap_or_default()
    }

    /// Attribute keys the primary gains.
    async fn attributes_added(&self) -> Vec<String> {
        self.0
            .plan
            .as_ref()
            .map(|p| p.attributes_added.clone())
            .unwrap_or_default()
    }
}

/// What `mergeContacts` returns.
#[derive(SimpleObject)]
pub struct MergeContactsPayload {
    /// The surviving contact, merged.
    pub contact: Contact,
    /// The merge's id: undo it with `unmergeContacts(input: {mergeId})`.
    pub merge_id: ID,
    /// The contacts merged away (now resolving to `contact`).
    pub merged_contact_ids: Vec<ID>,
}

/// What `unmergeContacts` returns.
#[derive(SimpleObject)]
pub struct UnmergeContactsPayload {
    /// The primary contact, as it was before the merge.
    pub contact: Contact,
    /// The merged-away contacts, restored.
    pub restored_contacts: Vec<Contact>,
}

/// A group of likely duplicates.
pub struct DuplicateGroup(pub duplicates::DuplicateGroup);

/// Contacts of the project that share an email or a phone: likely one person.
#[Object]
impl DuplicateGroup {
    /// What they share.
    async fn rule(&self) -> DuplicateRule {
        self.0.rule.into()
    }

    /// The shared value: the normalised email (lower-case) or the phone.
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// How many listed contacts share it.
    async fn size(&self) -> u64 {
        self.0.size
    }

    /// The contacts, oldest first (at most 50).
    async fn contacts(&self) -> Vec<Contact> {
        self.0.contacts.iter().cloned().map(Contact).collect()
    }

    /// The suggested primary for a merge: the contact with the most requests, then the
    /// oldest.
    async fn suggested_primary(&self) -> Option<Contact> {
        self.0
            .contacts
            .iter()
            .find(|c| c.id == self.0.suggested_primary)
            .cloned()
            .map(Contact)
    }
}

/// An edge of [`DuplicateGroupConnection`].
pub struct DuplicateGroupEdge(duplicates::DuplicateGroup);

/// A group in a page, with its cursor.
#[Object]
impl DuplicateGroupEdge {
    /// Opaque cursor of this group.
    async fn cursor(&self) -> &str {
        &self.0.cursor
    }

    /// The group.
    async fn node(&self) -> DuplicateGroup {
        DuplicateGroup(self.0.clone())
    }
}

/// A page of duplicate groups.
pub struct DuplicateGroupConnection {
    page: DuplicatePage,
    after_given: bool,
}

impl DuplicateGroupConnection {
    /// A connection over `page`, fetched after a cursor or not.
    pub fn new(page: DuplicatePage, after_given: bool) -> Self {
        Self { page, after_given }
    }
}

/// A page of duplicate groups, biggest first (Relay Cursor Connections spec).
#[Object]
impl DuplicateGroupConnection {
    /// The groups of the page with their cursors.
    async fn edges(&self) -> Vec<DuplicateGroupEdge> {
        self.page
            .groups
            .iter()
            .cloned()
            .map(DuplicateGroupEdge)
            .collect()
    }

    /// The groups of the page.
    async fn nodes(&self) -> Vec<DuplicateGroup> {
        self.page
            .groups
            .iter()
            .cloned()
            .map(DuplicateGroup)
            .collect()
    }

    /// Where the page sits in the list.
    async fn page_info(&self) -> PageInfo {
        let cursors: Vec<String> = self.page.groups.iter().map(|g| g.cursor.clone()).collect();
        PageInfo::new(&cursors, self.page.has_next_page, self.after_given)
    }
}
