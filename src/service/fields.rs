//! The one table of a contact's text fields: [`ContactField`]. Validation, patching
//! ([`ContactFields`] → [`ValidFields`] → the row), the timeline's change diff, the CSV columns
//! and merges all read it. Adding a text field is one entry in [`ContactField::ALL`] and
//! [`ContactField::spec`], its column (entity + migration) in `get`/`set`, and its GraphQL
//! input/output fields.
//!
//! Structured fields (tags, attributes, additional emails, status) have their own rules in
//! `crate::normalize` and are not in this table.

use entity::lead;

use crate::error::AppResult;
use crate::normalize;

/// Longest accepted note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Longest accepted company / address field, in characters.
pub const MAX_FIELD_CHARS: usize = 200;

/// A text field of a contact (GraphQL `MergeField`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactField {
    /// `fullname`.
    Fullname,
    /// `email` (its match key `email_key` follows it).
    Email,
    /// `phone`.
    Phone,
    /// `company`.
    Company,
    /// `note` (multi-line).
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

/// How a field's input is checked and normalised (`crate::normalize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// One line of text (NFC, trimmed, no control characters), at most this many characters.
    Line(usize),
    /// Multi-line text (line feeds and tabs allowed), at most this many characters.
    Multiline(usize),
    /// An email address (RFC 5322 syntax, ≤ 254 bytes); compared by its match key.
    Email,
    /// A phone number: E.164 with `+`, else national digits.
    Phone,
}

/// What the table says about one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The API name: GraphQL field, `extensions.field` of its errors, timeline `field`, CSV
    /// column.
    pub name: &'static str,
    /// Its input rule.
    pub rule: Rule,
}

impl ContactField {
    /// Every text field, in the API's order (validation reports the first bad one in this
    /// order; previews list them in it).
    pub const ALL: [Self; 10] = [
        Self::Fullname,
        Self::Email,
        Self::Phone,
        Self::Company,
        Self::Note,
        Self::Street,
        Self::City,
        Self::Region,
        Self::Zipcode,
        Self::Country,
    ];

    /// The field's entry in the table.
    pub const fn spec(self) -> Spec {
        let (name, rule) = match self {
            Self::Fullname => ("fullname", Rule::Line(normalize::MAX_NAME_CHARS)),
            Self::Email => ("email", Rule::Email),
            Self::Phone => ("phone", Rule::Phone),
            Self::Company => ("company", Rule::Line(MAX_FIELD_CHARS)),
            Self::Note => ("note", Rule::Multiline(MAX_NOTE_CHARS)),
            Self::Street => ("street", Rule::Line(MAX_FIELD_CHARS)),
            Self::City => ("city", Rule::Line(MAX_FIELD_CHARS)),
            Self::Region => ("region", Rule::Line(MAX_FIELD_CHARS)),
            Self::Zipcode => ("zipcode", Rule::Line(MAX_FIELD_CHARS)),
            Self::Country => ("country", Rule::Line(MAX_FIELD_CHARS)),
        };
        Spec { name, rule }
    }

    /// The API name (`fullname`, `email`, ...).
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The field named `name` (as [`Self::name`] spells it), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Position in [`Self::ALL`].
    const fn index(self) -> usize {
        self as usize
    }

    /// The field's column of `lead`.
    pub const fn column(self) -> lead::Column {
        match self {
            Self::Fullname => lead::Column::Fullname,
            Self::Email => lead::Column::Email,
            Self::Phone => lead::Column::Phone,
            Self::Company => lead::Column::Company,
            Self::Note => lead::Column::Note,
            Self::Street => lead::Column::Street,
            Self::City => lead::Column::City,
            Self::Region => lead::Column::Region,
            Self::Zipcode => lead::Column::Zipcode,
            Self::Country => lead::Column::Country,
        }
    }

    /// The field's value on `m`.
    pub fn get(self, m: &lead::Model) -> Option<&String> {
        match self {
            Self::Fullname => m.fullname.as_ref(),
            Self::Email => m.email.as_ref(),
            Self::Phone => m.phone.as_ref(),
            Self::Company => m.company.as_ref(),
            Self::Note => m.note.as_ref(),
            Self::Street => m.street.as_ref(),
            Self::City => m.city.as_ref(),
            Self::Region => m.region.as_ref(),
            Self::Zipcode => m.zipcode.as_ref(),
            Self::Country => m.country.as_ref(),
        }
    }

    /// Stores `value` (already valid) on `m`; the email's match key follows the email.
    pub fn set(self, m: &mut lead::Model, value: Option<String>) {
        let slot = match self {
            Self::Fullname => &mut m.fullname,
            Self::Email => {
                m.email_key = value.as_deref().map(normalize::email_key);
                &mut m.email
            }
            Self::Phone => &mut m.phone,
            Self::Company => &mut m.company,
            Self::Note => &mut m.note,
            Self::Street => &mut m.street,
            Self::City => &mut m.city,
            Self::Region => &mut m.region,
            Self::Zipcode => &mut m.zipcode,
            Self::Country => &mut m.country,
        };
        *slot = value;
    }

    /// Checks and normalises `raw` by the field's [`Rule`]; a blank value is `None`.
    /// Errors: `BAD_USER_INPUT` with `extensions.field` = [`Self::name`].
    pub fn validate(self, raw: &str) -> AppResult<Option<String>> {
        let Spec { name, rule } = self.spec();
        match rule {
            Rule::Line(max) => normalize::text(name, Some(raw), max),
            Rule::Multiline(max) => normalize::text_multiline(name, Some(raw), max),
            Rule::Email => Ok(normalize::email(name, Some(raw))?.map(|e| e.display)),
            Rule::Phone => normalize::phone(name, Some(raw)),
        }
    }

    /// Whether two stored values are the same value: emails compare by match key, other
    /// fields as stored.
    pub fn same(self, a: &str, b: &str) -> bool {
        match self.spec().rule {
            Rule::Email => normalize::email_key(a) == normalize::email_key(b),
            _ => a == b,
        }
    }
}

/// A change to one optional field: leave it, clear it (explicit `null`), or set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Absent: leave the stored value alone.
    #[default]
    Keep,
    /// Explicit `null`: clear the stored value.
    Clear,
    /// A new value.
    Set(T),
}

/// A patch of a contact's text fields, one [`Patch`] per [`ContactField`] (all `Keep` by
/// default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactFields([Patch<String>; ContactField::ALL.len()]);

impl ContactFields {
    /// This patch with `field` set to `patch`.
    pub fn with(mut self, field: ContactField, patch: Patch<String>) -> Self {
        self.set(field, patch);
        self
    }

    /// Sets `field`'s patch.
    pub fn set(&mut self, field: ContactField, patch: Patch<String>) {
        self.0[field.index()] = patch;
    }

    /// Validates and normalises every field with the table's rules, in [`ContactField::ALL`]'s
    /// order; a blank value clears, like `null` (a stored field is never ""). Errors:
    /// `BAD_USER_INPUT` naming the first bad field.
    pub fn validate(self) -> AppResult<ValidFields> {
        let mut out = ValidFields::default();
        for (field, patch) in ContactField::ALL.into_iter().zip(self.0) {
            out.0[field.index()] = match patch {
                Patch::Keep => None,
                Patch::Clear => Some(None),
                Patch::Set(v) => Some(field.validate(&v)?),
            };
        }
        Ok(out)
    }
}

/// Validated [`ContactFields`]: per field `None` keeps, `Some(None)` clears, `Some(Some(v))`
/// sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidFields([Option<Option<String>>; ContactField::ALL.len()]);

impl ValidFields {
    /// The change to `field`: `None` keeps it, `Some(None)` clears, `Some(Some(v))` sets.
    pub fn get(&self, field: ContactField) -> Option<&Option<String>> {
        self.0[field.index()].as_ref()
    }

    /// Takes `field`'s change out of the patch, which then keeps it: `None` keeps,
    /// `Some(None)` clears, `Some(Some(v))` sets (`company`: the link is resolved by
    /// `store::company_links`, not copied as text).
    pub fn take(&mut self, field: ContactField) -> Option<Option<String>> {
        self.0[field.index()].take()
    }

    /// The same patch without its clears (metadata captures never wipe a stored value).
    pub fn without_clears(mut self) -> Self {
        for slot in &mut self.0 {
            if matches!(slot, Some(None)) {
                *slot = None;
            }
        }
        self
    }

    /// Applies the changes to `model`; returns whether any value changed.
    pub fn apply(self, model: &mut lead::Model) -> bool {
        let mut changed = false;
        for (field, value) in ContactField::ALL.into_iter().zip(self.0) {
            if let Some(value) = value
                && field.get(model) != value.as_ref()
            {
                field.set(model, value);
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn field_of(err: AppError) -> &'static str {
        match err {
            AppError::BadUserInput { field, .. } => field,
            other => panic!("not BAD_USER_INPUT: {other:?}"),
        }
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, f) in ContactField::ALL.into_iter().enumerate() {
            assert_eq!(f.index(), i, "ALL is in declaration order");
            assert_eq!(ContactField::from_name(f.name()), Some(f));
        }
        assert_eq!(ContactField::from_name("leadId"), None);
    }

    #[test]
    fn validation_follows_each_rule_and_names_the_field() {
        assert_eq!(
            ContactField::Email.validate(" Ann@Example.COM ").unwrap(),
            Some("Ann@Example.COM".to_owned())
        );
        assert_eq!(ContactField::City.validate("   ").unwrap(), None);
        let err = ContactField::Zipcode
            .validate(&"x".repeat(MAX_FIELD_CHARS + 1))
            .unwrap_err();
        assert_eq!(field_of(err), "zipcode");
        assert!(ContactField::Note.validate("two\nlines").unwrap().is_some());
        assert!(ContactField::Company.validate("two\nlines").is_err());
        let first_bad = ContactFields::default()
            .with(ContactField::Country, Patch::Set("\u{0}".into()))
            .with(ContactField::Phone, Patch::Set("not a phone".into()))
            .validate()
            .unwrap_err();
        assert_eq!(field_of(first_bad), "phone");
    }

    #[test]
    fn apply_sets_clears_keeps_and_derives_the_email_key() {
        let scope = crate::service::ProjectScope::operator(uuid::Uuid::new_v4());
        let mut m = crate::service::store::leads::blank(scope, "x".into(), crate::service::now());
        m.city = Some("Paris".into());
        let patch = ContactFields::default()
            .with(ContactField::Email, Patch::Set("Bob@Example.com".into()))
            .with(ContactField::City, Patch::Clear)
            .validate()
            .unwrap();
        assert!(patch.clone().apply(&mut m));
        assert_eq!(m.email.as_deref(), Some("Bob@Example.com"));
        assert_eq!(m.email_key.as_deref(), Some("bob@example.com"));
        assert_eq!(m.city, None);
        assert!(!patch.apply(&mut m), "the same patch again changes nothing");
        let mut kept = m.clone();
        kept.city = Some("Oslo".into());
        let cleared = ContactFields::default()
            .with(ContactField::City, Patch::Clear)
            .validate()
            .unwrap()
            .without_clears();
        assert!(!cleared.apply(&mut kept));
        assert_eq!(kept.city.as_deref(), Some("Oslo"));
    }
}
