//! The pure rules of typed custom attributes: what a definition may say (label, options) and
//! what value each type accepts ([`Definition::check`]), and the project's rules for a write
//! ([`AttributeRules`]: its active definitions and its strict mode). No database access: the
//! store loads the rules (`store::attribute_defs::rules`), the use cases apply them.
//!
//! Values stay in the contact's `attributes` JSON object. Per type:
//! - `TEXT`: a JSON string (the object's own limits apply: no control characters but line
//!   breaks and tabs, 16 KiB in all);
//! - `NUMBER`: a JSON number;
//! - `BOOLEAN`: `true` or `false`;
//! - `DATE`: a string `YYYY-MM-DD`, a real calendar date (chrono), surrounding spaces
//!   trimmed;
//! - `LIST`: a string equal to one of the options, case-insensitively (trimmed, NFC); stored in
//!   the option's own spelling;
//! - `URL`: an absolute `http`/`https` URL with a host (the `url` crate), at most
//!   [`MAX_URL_CHARS`] characters; stored as given, trimmed.
//!
//! JSON `null` is accepted for every type (it is stored as today: a key whose value is
//! unknown; `removeKeys` removes a key). Values already stored are never re-checked: a
//! definition made after them, or narrowed later, leaves them as they are.

use std::collections::HashMap;

use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

pub use entity::contact_attribute::AttributeType;

use crate::error::{AppError, AppResult};
use crate::normalize;

/// Most definitions a project has (archived ones included: they can be restored).
pub const MAX_DEFINITIONS: u64 = 200;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;
/// Most options of a `LIST`.
pub const MAX_OPTIONS: usize = 100;
/// Longest option, in characters.
pub const MAX_OPTION_CHARS: usize = 100;
/// Longest `URL` value, in characters.
pub const MAX_URL_CHARS: usize = 2048;

/// The API name of a type (the GraphQL `ContactAttributeType` spelling).
pub fn type_name(t: AttributeType) -> &'static str {
    match t {
        AttributeType::Text => "TEXT",
        AttributeType::Number => "NUMBER",
        AttributeType::Boolean => "BOOLEAN",
        AttributeType::Date => "DATE",
        AttributeType::List => "LIST",
        AttributeType::Url => "URL",
    }
}

/// What a write needs to know of one defined (not archived) key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// The type of its values.
    pub value_type: AttributeType,
    /// The choices of a `LIST` (empty for other types).
    pub options: Vec<String>,
}

impl Definition {
    /// From a stored row.
    pub fn of(row: &entity::contact_attribute::Model) -> Self {
        Self {
            value_type: row.value_type,
            options: normalize::stored_tags(&row.options),
        }
    }

    /// The value as stored if `value` fits this definition (see the module's rules; `null`
    /// fits every type), else why not: a message that names the expected type.
    pub fn check(&self, value: &Value) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let expected = || {
            let what = match self.value_type {
                AttributeType::Text => "TEXT (a JSON string)",
                AttributeType::Number => "a NUMBER (a JSON number)",
                AttributeType::Boolean => "a BOOLEAN (true or false)",
                AttributeType::Date => "a DATE (a string YYYY-MM-DD)",
                AttributeType::List => "a LIST value (a string, one of the options)",
                AttributeType::Url => "a URL (a string: an absolute http or https URL)",
            };
            format!("expected {what}, got {}", describe(value))
        };
        match (self.value_type, value) {
            (AttributeType::Text, Value::String(_))
            | (AttributeType::Number, Value::Number(_))
            | (AttributeType::Boolean, Value::Bool(_)) => Ok(value.clone()),
            (AttributeType::Date, Value::String(s)) => date(s).map(Value::String),
            (AttributeType::List, Value::String(s)) => self.option(s).map(Value::String),
            (AttributeType::Url, Value::String(s)) => url(s).map(Value::String),
            _ => Err(expected()),
        }
    }

    /// The option `given` names (trimmed, NFC; exact spelling first, then case-insensitive).
    fn option(&self, given: &str) -> Result<String, String> {
        let given: String = given.trim().nfc().collect();
        let lower = given.to_lowercase();
        self.options
            .iter()
            .find(|o| **o == given)
            .or_else(|| self.options.iter().find(|o| o.to_lowercase() == lower))
            .cloned()
            .ok_or_else(|| {
                let shown: Vec<&str> = self.options.iter().take(10).map(String::as_str).collect();
                let more = if self.options.len() > 10 { ", …" } else { "" };
                format!(
                    "expected a LIST value, one of: {}{more}; got {}",
                    shown.join(", "),
                    describe(&Value::String(given.clone()))
                )
            })
    }
}

/// A short rendering of a rejected value for an error message.
fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(40).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// A `DATE` value: `YYYY-MM-DD` (trimmed), a real calendar date.
fn date(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() {
        return Err(format!(
            "expected a DATE (a calendar date YYYY-MM-DD), got {}",
            describe(&Value::String(raw.to_owned()))
        ));
    }
    Ok(s.to_owned())
}

/// A `URL` value: an absolute `http`/`https` URL with a host, trimmed.
fn url(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let bad = || {
        format!(
            "expected a URL (an absolute http or https URL), got {}",
            describe(&Value::String(raw.to_owned()))
        )
    };
    if s.chars().count() > MAX_URL_CHARS {
        return Err(format!(
            "expected a URL of at most {MAX_URL_CHARS} characters"
        ));
    }
    let parsed = url::Url::parse(s).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(s.to_owned())
}

/// A project's rules for the attributes a write sets: its active (not archived) definitions
/// by key, and whether it is in strict mode (undefined keys refused).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttributeRules {
    /// `project.strict_attributes`.
    pub strict: bool,
    /// The active definitions, by key.
    pub definitions: HashMap<String, Definition>,
}

impl AttributeRules {
    /// Checks the keys a write sets (`patch`, already within the object limits of
    /// `normalize::attributes`) and returns them as stored (DATE and URL trimmed, LIST in
    /// the option's spelling). Keys are checked in order; the first bad one fails.
    /// Errors: `BAD_USER_INPUT` with `extensions.field` `attributes.<key>`: a value that does
    /// not fit its key's definition, or, in strict mode, an undefined (or archived) key.
    pub fn check(&self, patch: Map<String, Value>) -> AppResult<Map<String, Value>> {
        let mut out = Map::new();
        for (key, value) in patch {
            let value = match self.definitions.get(&key) {
                Some(def) => def
                    .check(&value)
                    .map_err(|message| AppError::bad_attribute(&key, message))?,
                None if self.strict => {
                    return Err(AppError::bad_attribute(
                        &key,
                        format!(
                            "`{key}` is not a defined attribute, and the project accepts only defined ones (strict mode)"
                        ),
                    ));
                }
                None => value,
            };
            out.insert(key, value);
        }
        Ok(out)
    }

    /// Whether `value` is acceptable for `key` as stored: true for an undefined key, else
    /// when it fits the definition unchanged (merges prefer such values).
    pub fn fits(&self, key: &str, value: &Value) -> bool {
        match self.definitions.get(key) {
            None => true,
            Some(def) => def.check(value).is_ok_and(|v| v == *value),
        }
    }
}

/// A definition's label: trimmed, NFC, 1..=[`MAX_LABEL_CHARS`] characters, no control
/// characters. Errors: `BAD_USER_INPUT` on `label`.
pub fn label(raw: &str) -> AppResult<String> {
    normalize::text("label", Some(raw), MAX_LABEL_CHARS)?
        .ok_or_else(|| AppError::bad_input("label", "must not be blank"))
}

/// A `LIST`'s options: each trimmed, NFC, 1..=[`MAX_OPTION_CHARS`] characters; 1 to
/// [`MAX_OPTIONS`] of them, distinct case-insensitively (values match them so). Order kept.
/// Errors: `BAD_USER_INPUT` on `options`.
pub fn options(raw: &[String]) -> AppResult<Vec<String>> {
    if raw.is_empty() || raw.len() > MAX_OPTIONS {
        return Err(AppError::bad_input(
            "options",
            format!("a LIST has 1 to {MAX_OPTIONS} options"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for option in raw {
        let option = normalize::text("options", Some(option), MAX_OPTION_CHARS)?
            .ok_or_else(|| AppError::bad_input("options", "options must not be blank"))?;
        if out
            .iter()
            .any(|o| o.to_lowercase() == option.to_lowercase())
        {
            return Err(AppError::bad_input(
                "options",
                format!("`{option}` is listed twice (options are compared case-insensitively)"),
            ));
        }
        out.push(option);
    }
    Ok(out)
}

/// The options a definition of `value_type` stores, from the input's `options` (absent or
/// `[]` for a type other than `LIST`). Errors: `BAD_USER_INPUT` on `options`: a `LIST`
/// without valid options, options given for another type.
pub fn options_for(value_type: AttributeType, raw: Option<&[String]>) -> AppResult<Vec<String>> {
    match (value_type, raw) {
        (AttributeType::List, raw) => options(raw.unwrap_or_default()),
        (_, None | Some([])) => Ok(Vec::new()),
        (t, Some(_)) => Err(AppError::bad_input(
            "options",
            format!("only a LIST has options, not a {}", type_name(t)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(t: AttributeType) -> Definition {
        Definition {
            value_type: t,
            options: vec!["Free".into(), "Pro".into()],
        }
    }

    #[test]
    fn each_type_accepts_its_values() {
        use AttributeType::*;
        assert_eq!(def(Text).check(&json!(" a ")), Ok(json!(" a ")));
        assert_eq!(def(Number).check(&json!(-1.5)), Ok(json!(-1.5)));
        assert_eq!(def(Boolean).check(&json!(false)), Ok(json!(false)));
        assert_eq!(
            def(Date).check(&json!(" 2024-02-29 ")),
            Ok(json!("2024-02-29"))
        );
        assert_eq!(def(List).check(&json!(" pro ")), Ok(json!("Pro")));
        assert_eq!(
            def(Url).check(&json!(" https://example.com/a?b "),),
            Ok(json!("https://example.com/a?b"))
        );
        for t in [Text, Number, Boolean, Date, List, Url] {
            assert_eq!(def(t).check(&Value::Null), Ok(Value::Null));
        }
    }

    #[test]
    fn each_type_refuses_other_values() {
        use AttributeType::*;
        for (t, bad) in [
            (Text, json!(1)),
            (Number, json!("9")),
            (Boolean, json!("true")),
            (Date, json!("2023-02-29")),
            (Date, json!("2024-1-05")),
            (Date, json!("20240105")),
            (List, json!("Enterprise")),
            (Url, json!("example.com")),
            (Url, json!("ftp://example.com")),
            (Url, json!("mailto:a@example.com")),
            (Url, json!(["https://example.com"])),
        ] {
            assert!(def(t).check(&bad).is_err(), "{t:?} {bad}");
        }
        let msg = def(Number).check(&json!("9")).unwrap_err();
        assert!(msg.contains("NUMBER"), "{msg}");
    }

    #[test]
    fn rules_name_the_key_and_follow_strict_mode() {
        let mut rules = AttributeRules::default();
        rules
            .definitions
            .insert("n".into(), def(AttributeType::Number));
        let patch = json!({"n": 3, "free": "x"}).as_object().unwrap().clone();
        assert_eq!(rules.check(patch.clone()).unwrap(), patch);
        let err = rules
            .check(json!({"n": "3"}).as_object().unwrap().clone())
            .unwrap_err();
        assert_eq!(err.input_field().as_deref(), Some("attributes.n"));
        rules.strict = true;
        let err = rules.check(patch).unwrap_err();
        assert_eq!(err.input_field().as_deref(), Some("attributes.free"));
        assert!(rules.fits("n", &json!(3)) && !rules.fits("n", &json!("3")));
        assert!(rules.fits("other", &json!("3")));
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(
            options(&[" a ".into(), "B".into()]).unwrap(),
            vec!["a".to_owned(), "B".to_owned()]
        );
        assert!(options(&[]).is_err());
        assert!(options(&["a".into(), "A".into()]).is_err());
        assert!(options(&["  ".into()]).is_err());
        assert!(options_for(AttributeType::Text, Some(&["a".into()])).is_err());
        assert!(options_for(AttributeType::List, None).is_err());
        assert_eq!(
            options_for(AttributeType::Text, Some(&[])).unwrap(),
            Vec::<String>::new()
        );
    }
}
