//! The widget's writes (use cases, each in its own write transaction): a visitor opens a
//! Request, and captures metadata onto its own Lead (created by whichever comes first), with
//! the project's `auto_merge_on_email` rule.

use entity::{lead, request};
use sea_orm::EntityTrait;
use serde_json::Value;
use uuid::Uuid;

use super::attribute_rules::AttributeRules;
use super::fields::{ContactField, ContactFields, Patch};
use super::merge::{MAX_SECONDARIES, MergeInput, MergeOrigin};
use super::store::changes::{self, Version};
use super::store::timeline::{self, NewEvent};
use super::store::{attribute_defs, company_links, leads, merges, requests};
use super::{Database, ProjectScope, WriteTxn, begin_write, now};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Longest accepted first message, in characters.
pub const MAX_FIRST_TEXT_CHARS: usize = 10_000;

/// Channels a Request can arrive on (`chat21` is the widget).
pub const CHANNELS: [&str; 6] = [
    "chat21", "email", "form", "whatsapp", "telegram", "facebook",
];

/// Input of [`create_request`].
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// The visitor's first message: required, 1..=10,000 characters after trimming.
    pub first_text: String,
    /// One of [`CHANNELS`]; `chat21` when absent.
    pub channel: Option<String>,
    /// Custom attributes of the conversation: a JSON object.
    pub attributes: Option<Value>,
}

/// Inserts a Request (status UNASSIGNED) for the visitor and gets-or-creates the visitor's
/// Lead, in one write transaction; returns both. Two concurrent first requests of one visitor
/// give one Lead (unique key + `ON CONFLICT DO NOTHING`).
/// Errors: `BAD_USER_INPUT` (`firstText`, `channel`, `attributes`) before anything is written.
pub async fn create_request(
    db: &impl Database,
    scope: ProjectScope,
    visitor_id: Uuid,
    input: NewRequest,
) -> AppResult<(request::Model, lead::Model)> {
    let first_text =
        normalize::text_multiline("firstText", Some(&input.first_text), MAX_FIRST_TEXT_CHARS)?
            .ok_or_else(|| AppError::bad_input("firstText", "is required"))?;
    let channel = match input.channel {
        None => "chat21".to_owned(),
        Some(c) if CHANNELS.contains(&c.as_str()) => c,
        Some(_) => {
            return Err(AppError::bad_input(
                "channel",
                format!("must be one of {}", CHANNELS.join(", ")),
            ));
        }
    };
    let attributes = normalize::attributes("attributes", input.attributes)?.unwrap_or_default();
    let txn = begin_write(db).await?;
    let at = now();
    let (lead, created) =
        changes::get_or_create_for_visitor(&txn, scope, visitor_id, Some(at)).await?;
    let model = request::Model {
        id: Uuid::new_v4(),
        request_id: requests::new_request_id(scope.project_id),
        project_id: scope.project_id,
        lead: lead.id,
        requester_id: visitor_id,
        first_text,
        status: request::RequestStatus::Unassigned,
        channel,
        attributes: Value::Object(attributes),
        created_at: at,
        updated_at: at,
        closed_at: None,
    };
    requests::insert(&txn, scope, &model).await?;
    if !created {
        requests::touch_lead(&txn, scope, lead.id, at).await?;
    }
    let event = NewEvent {
        kind: timeline::EventKind::RequestCreated,
        data: serde_json::json!({ "requestId": model.id }),
    };
    timeline::record(&txn, scope, lead.id, Some(visitor_id), vec![event]);
    txn.commit().await?;
    let lead = lead::Model {
        last_request_at: Some(at),
        ..lead
    };
    Ok((model, lead))
}

/// Metadata captured by the widget. Every field is optional; an absent or blank one leaves
/// the stored value alone.
#[derive(Clone, Debug, Default)]
pub struct MetadataInput {
    /// Full name (≤ 200 characters).
    pub fullname: Option<String>,
    /// Email (RFC 5322 syntax, ≤ 254 bytes).
    pub email: Option<String>,
    /// Phone (E.164 or national digits).
    pub phone: Option<String>,
    /// Custom attributes: a JSON object merged by top-level key.
    pub attributes: Option<Value>,
}

/// Applies captured metadata to the visitor's own Lead (created if needed), in one write
/// transaction. Absent or blank fields leave stored values alone; attributes merge by
/// top-level key; `version` and `updated_at` change only when something did; each change is a
/// timeline event by the visitor. A new email may link the contact to a company by its
/// domain (the project's `link_company_by_email_domain` rule). When the project's `auto_merge_on_email` is on and the
/// captured email is another listed contact's, the visitor's contact is merged into that one
/// in the same transaction (journaled, undoable; never when both are identified visitors
/// with different external ids) and the surviving contact is returned.
/// Attributes are checked against the project's definitions (one statement, only when
/// attributes are given). Errors: `BAD_USER_INPUT` (`fullname`, `email`, `phone`,
/// `attributes`; `attributes.<key>` for a value that does not fit its key's definition, or an
/// undefined key in strict mode); nothing is written on any error.
pub async fn capture_metadata(
    db: &impl Database,
    scope: ProjectScope,
    visitor_id: Uuid,
    input: MetadataInput,
) -> AppResult<lead::Model> {
    let given = |v: Option<String>| v.map_or(Patch::Keep, Patch::Set);
    // The captured email's match key (a blank email is no email).
    let email_key = input
        .email
        .as_deref()
        .map(normalize::email_key)
        .filter(|k| !k.is_empty());
    let fields = ContactFields::default()
        .with(ContactField::Fullname, given(input.fullname))
        .with(ContactField::Email, given(input.email))
        .with(ContactField::Phone, given(input.phone))
        .validate()?
        .without_clears();
    let attributes = normalize::attributes("attributes", input.attributes)?;
    let txn = begin_write(db).await?;
    // The project's attribute rules, read once (when there are attributes to check or a
    // merge to plan).
    let mut rules = None;
    let attributes = match attributes {
        Some(patch) if !patch.is_empty() => {
            let loaded = attribute_defs::rules(&txn, scope).await?;
            let patch = loaded.check(patch)?;
            rules = Some(loaded);
            Some(patch)
        }
        other => other,
    };
    let (current, created) =
        changes::get_or_create_for_visitor(&txn, scope, visitor_id, None).await?;
    let mut next = current.clone();
    fields.apply(&mut next);
    company_links::by_email_domain(&txn, scope, current.email_key.as_deref(), &mut next).await?;
    if let Some(patch) = attributes {
        let mut stored = normalize::stored_attributes(&current.attributes);
        if normalize::merge_attributes(&mut stored, patch) {
            normalize::check_attributes("attributes", &stored)?;
            next.attributes = Value::Object(stored);
        }
    }
    let mut saved = if next != current {
        // A Lead created by this very call is at its first version.
        let version = if created {
            Version::Same
        } else {
            Version::Next
        };
        let actor = Some(visitor_id);
        changes::save(&txn, scope, actor, &current, next, version, Vec::new()).await?
    } else {
        current
    };
    if let Some(key) = email_key {
        saved = auto_merge_on_email(&txn, scope, visitor_id, saved, &key, rules).await?;
    }
    txn.commit().await?;
    Ok(saved)
}

/// The project's `auto_merge_on_email` rule: merges `lead` into the best other listed contact
/// of the project with email key `key` (most Requests, then oldest), unless both are
/// identified with different external ids, by the visitor; `rules` are the project's
/// attribute rules if the caller read them already (else they are read when a merge
/// happens). Returns the surviving contact (`lead` itself when the setting is off or nothing
/// matches).
async fn auto_merge_on_email(
    txn: &WriteTxn,
    scope: ProjectScope,
    visitor_id: Uuid,
    lead: lead::Model,
    key: &str,
    rules: Option<AttributeRules>,
) -> AppResult<lead::Model> {
    let enabled = entity::project::Entity::find_by_id(scope.project_id)
        .one(txn)
        .await?
        .is_some_and(|p| p.auto_merge_on_email);
    if !enabled || lead.status != lead::LeadStatus::Normal {
        return Ok(lead);
    }
    let candidates =
        leads::listed_with_email_key(txn, scope, key, lead.id, MAX_SECONDARIES as u64).await?;
    let candidates: Vec<lead::Model> = candidates
        .into_iter()
        .filter(|c| match (&c.external_id, &lead.external_id) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
        .collect();
    if candidates.is_empty() {
        return Ok(lead);
    }
    let ids: Vec<Uuid> = candidates.iter().map(|c| c.id).collect();
    let counts = requests::counts_for_leads(txn, scope, &ids, None).await?;
    // Most Requests first; among equals the oldest (the list is oldest first; max_by_key
    // keeps the last maximum, so walk it reversed).
    let target = candidates
        .iter()
        .rev()
        .max_by_key(|c| counts.get(&c.id).copied().unwrap_or(0))
        .map(|c| c.id)
        .ok_or_else(|| AppError::internal("no merge target"))?;
    let rules = match rules {
        Some(rules) => rules,
        None => attribute_defs::rules(txn, scope).await?,
    };
    let (survivor, _) = merges::apply(
        txn,
        scope,
        &MergeInput {
            primary_id: target,
            secondary_ids: vec![lead.id],
            ..Default::default()
        },
        MergeOrigin {
            kind: entity::lead_merge::MergeKind::AutoEmail,
            actor: Some(visitor_id),
        },
        &rules,
    )
    .await?;
    Ok(survivor)
}
