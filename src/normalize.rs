//! Input normalisation and validation shared by every write path: names, emails, phones,
//! web domains and attribute objects. Pure functions; each error is `BAD_USER_INPUT` naming
//! the input field.
//!
//! Libraries: `unicode-normalization` (NFC, Unicode Standard Annex #15), `email_address`
//! (RFC 5321/5322 syntax), `phonenumber` (a port of Google's libphonenumber, for E.164),
//! `url` (the WHATWG URL standard's host parser with IDNA, for domains).

use std::str::FromStr;

use email_address::{EmailAddress, Options};
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::error::{AppError, AppResult};

/// Longest accepted full name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest accepted email, in bytes (RFC 5321 §4.5.3.1.3 path limit less the angle brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

/// An email as stored: `display` as typed (trimmed, NFC), `key` the match key (NFC,
/// lower-cased) used by every lookup and duplicate check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizedEmail {
    /// Trimmed, NFC.
    pub display: String,
    /// NFC, lower-cased.
    pub key: String,
}

/// Trims and NFC-normalises free text. Returns `None` for an absent or blank value (so that
/// "an empty value never wipes a stored one"). Rejects control characters and more than
/// `max_chars` characters with `BAD_USER_INPUT` on `field`.
pub fn text(
    field: &'static str,
    value: Option<&str>,
    max_chars: usize,
) -> AppResult<Option<String>> {
    checked_text(field, value, max_chars, false)
}

/// Like [`text`], for messages: line feeds, carriage returns and tabs are allowed.
pub fn text_multiline(
    field: &'static str,
    value: Option<&str>,
    max_chars: usize,
) -> AppResult<Option<String>> {
    checked_text(field, value, max_chars, true)
}

/// The one rule for unwanted characters, applied to every text input (names, emails, notes,
/// tags, attribute keys and string values, search): Unicode control characters (category Cc,
/// NUL included) and the bidirectional embedding, override and isolate controls
/// (U+202A–U+202E, U+2066–U+2069: the "Trojan Source" characters, CVE-2021-42574) are
/// rejected with `BAD_USER_INPUT`; line feed, carriage return and tab are allowed in
/// multi-line fields (`firstText`, `note`) and in attribute string values.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` cannot be seen, or is not one character of an address, so it has no place in
/// an email: a format character (category Cf: zero-width joiners and spaces, soft hyphen,
/// bidi marks, BOM, tag characters), a default-ignorable code point (Unicode's
/// `Default_Ignorable_Code_Point`: also Hangul fillers, variation selectors, the combining
/// grapheme joiner) or a separator (Zs/Zl/Zp, e.g. a no-break space). `pay\u{200D}pal@…`
/// would never match or group with `paypal@…`.
pub fn is_invisible_in_email(c: char) -> bool {
    use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, GeneralCategoryGroup};
    use icu_properties::{CodePointMapData, CodePointSetData};
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || GeneralCategoryGroup::Format.contains(category)
        || GeneralCategoryGroup::Separator.contains(category)
}

fn checked_text(
    field: &'static str,
    value: Option<&str>,
    max_chars: usize,
    multiline: bool,
) -> AppResult<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    let nfc: String = value.trim().nfc().collect();
    if nfc.is_empty() {
        return Ok(None);
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if nfc.chars().any(|c| is_forbidden_char(c) && !allowed(c)) {
        return Err(AppError::bad_input(
            field,
            "must not contain control characters",
        ));
    }
    if nfc.chars().count() > max_chars {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(Some(nfc))
}

/// Validates and normalises an email address: trim, NFC, syntax per RFC 5322 (no display
/// text, no domain literal, a domain with at least one dot), at most [`MAX_EMAIL_BYTES`].
/// `None` for an absent or blank value. Errors: `BAD_USER_INPUT` on `field`.
///
/// `+`, `.` and other atext characters of the local part are ordinary characters: the key
/// keeps them (no Gmail-style folding, which would merge distinct mailboxes).
pub fn email(field: &'static str, value: Option<&str>) -> AppResult<Option<NormalizedEmail>> {
    let Some(value) = value else { return Ok(None) };
    let display: String = value.trim().nfc().collect();
    if display.is_empty() {
        return Ok(None);
    }
    if display.len() > MAX_EMAIL_BYTES {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {MAX_EMAIL_BYTES} bytes"),
        ));
    }
    if display.chars().any(is_forbidden_char) {
        return Err(AppError::bad_input(
            field,
            "must not contain control characters",
        ));
    }
    if display.chars().any(is_invisible_in_email) {
        return Err(AppError::bad_input(
            field,
            "must not contain invisible characters (zero-width, format or space characters)",
        ));
    }
    let options = Options::default()
        .with_required_tld()
        .without_display_text()
        .without_domain_literal();
    EmailAddress::parse_with_options(&display, options)
        .map_err(|e| AppError::bad_input(field, format!("is not a valid email address: {e}")))?;
    let key = email_key(&display);
    Ok(Some(NormalizedEmail { display, key }))
}

/// A free-form lookup input (an email to sign in with or to filter by): its match key, after
/// the one character rule ([`is_forbidden_char`]; PostgreSQL also refuses NUL in text).
/// Errors: `BAD_USER_INPUT` on `field`.
pub fn lookup_key(field: &'static str, value: &str) -> AppResult<String> {
    if value.chars().any(is_forbidden_char) {
        return Err(AppError::bad_input(
            field,
            "must not contain control characters",
        ));
    }
    if value.len() > 1024 {
        return Err(AppError::bad_input(field, "is too long"));
    }
    Ok(email_key(value))
}

/// The match key of an email (trim, NFC, lower-case), also for search input that need not be
/// a valid address: `" Foo@X.com "` → `"foo@x.com"`.
pub fn email_key(value: &str) -> String {
    match_key(value)
}

/// The match key of a name or any text compared case-insensitively (trim, NFC, lower-case):
/// `" ACME Corp "` → `"acme corp"`. Company names are matched by it.
pub fn match_key(value: &str) -> String {
    value.trim().nfc().collect::<String>().to_lowercase()
}

/// Longest accepted domain input, in bytes (a URL may carry a path that is dropped).
const MAX_DOMAIN_INPUT_BYTES: usize = 2048;

/// Normalises a web domain (a company's): a bare host (`Acme.io`, `www.acme.io`,
/// `bücher.de`) or an `http(s)` URL (`https://www.acme.io:8443/about?x`) becomes its host,
/// lower-case, IDNA-encoded to ASCII (`xn--bcher-kva.de`, by the `url` crate's WHATWG host
/// parser), without a trailing dot or a leading `www.`. It must be a domain name of at least
/// two labels of letters, digits and inner hyphens (≤ 63 bytes each, ≤ 253 in all), not an
/// IP address. `None` for an absent or blank value. Errors: `BAD_USER_INPUT` on `field`
/// (another scheme, credentials, an IP address, a malformed host).
pub fn domain(field: &'static str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| AppError::bad_input(field, format!("is not a valid domain: {why}"));
    if value.len() > MAX_DOMAIN_INPUT_BYTES {
        return Err(bad("too long"));
    }
    if value
        .chars()
        .any(|c| is_forbidden_char(c) || c.is_whitespace())
    {
        return Err(bad("it contains spaces or control characters"));
    }
    let url = if value.contains("://") {
        url::Url::parse(value)
    } else {
        url::Url::parse(&format!("http://{value}"))
    }
    .map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("give a domain name or an http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it looks like an email address or carries credentials"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(host)) => host.trim_end_matches('.'),
        Some(_) => return Err(bad("an IP address is not a domain name")),
        None => return Err(bad("no host")),
    };
    // Every leading `www.` while a domain remains (`www.com` stays: it is one).
    let mut host = host;
    while let Some(rest) = host.strip_prefix("www.").filter(|r| r.contains('.')) {
        host = rest;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.bytes().any(|b| b.is_ascii_lowercase()));
    if labels.len() < 2 || host.len() > 253 || !labels.iter().all(label_ok) || !tld_ok {
        return Err(bad("give a name like example.com"));
    }
    Ok(Some(host.to_owned()))
}

/// Normalises a phone number. A leading `00` means `+`. A number in international form
/// (`+…`) must be valid (libphonenumber metadata) and is returned in E.164 (`+14155552671`);
/// a national number without country code is kept as its digits (4 to 15 of them, ITU-T
/// E.164's maximum). Spaces, dots, dashes, slashes and parentheses are separators. `None` for
/// an absent or blank value. Errors: `BAD_USER_INPUT` on `field`.
pub fn phone(field: &'static str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.len() > 64 {
        return Err(AppError::bad_input(field, "is too long for a phone number"));
    }
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let rest = trimmed
        .strip_prefix('+')
        .or_else(|| trimmed.strip_prefix("00"))
        .unwrap_or(trimmed);
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '/' | '(' | ')' => {}
            _ => {
                return Err(AppError::bad_input(
                    field,
                    "may contain only digits, a leading + and separators",
                ));
            }
        }
    }
    if international {
        let candidate = format!("+{digits}");
        let parsed = phonenumber::parse(None, &candidate)
            .map_err(|_| AppError::bad_input(field, "is not a valid phone number"))?;
        if !phonenumber::is_valid(&parsed) {
            return Err(AppError::bad_input(field, "is not a valid phone number"));
        }
        return Ok(Some(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ));
    }
    if digits.starts_with("00") {
        // "0(0…" is "00…" once separators go: the international prefix, without a number.
        return Err(AppError::bad_input(field, "is not a valid phone number"));
    }
    if !(4..=15).contains(&digits.len()) {
        return Err(AppError::bad_input(field, "must have 4 to 15 digits"));
    }
    Ok(Some(digits))
}

/// Most top-level keys in a custom attributes object.
pub const MAX_ATTRIBUTE_KEYS: usize = 100;
/// Deepest nesting of a custom attributes object (the object itself is level 1).
pub const MAX_ATTRIBUTE_DEPTH: usize = 5;
/// Largest custom attributes object, serialised, in bytes.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks that custom attributes are a JSON object within the limits ([`MAX_ATTRIBUTE_KEYS`]
/// keys valid per [`attribute_key`], [`MAX_ATTRIBUTE_DEPTH`] levels, [`MAX_ATTRIBUTES_BYTES`]
/// serialised, no control characters but line breaks and tabs in strings) and returns its
/// map. `None` (absent) stays `None`. Errors: `BAD_USER_INPUT` on `field`.
pub fn attributes(
    field: &'static str,
    value: Option<Value>,
) -> AppResult<Option<Map<String, Value>>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => {
            check_attributes(field, &map)?;
            Ok(Some(map))
        }
        Some(_) => Err(AppError::bad_input(field, "must be a JSON object")),
    }
}

/// Checks a whole attributes object against the limits of [`attributes`] (also used on the
/// result of a merge). Errors: `BAD_USER_INPUT` on `field`.
pub fn check_attributes(field: &'static str, map: &Map<String, Value>) -> AppResult<()> {
    if map.len() > MAX_ATTRIBUTE_KEYS {
        return Err(AppError::bad_input(
            field,
            format!("at most {MAX_ATTRIBUTE_KEYS} keys"),
        ));
    }
    for key in map.keys() {
        attribute_key(field, key)?;
    }
    let value = Value::Object(map.clone());
    if depth(&value) > MAX_ATTRIBUTE_DEPTH {
        return Err(AppError::bad_input(
            field,
            format!("nested at most {MAX_ATTRIBUTE_DEPTH} levels deep"),
        ));
    }
    if value.to_string().len() > MAX_ATTRIBUTES_BYTES {
        return Err(AppError::bad_input(
            field,
            format!("at most {MAX_ATTRIBUTES_BYTES} bytes as JSON"),
        ));
    }
    if has_control_char(&value) {
        return Err(AppError::bad_input(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn has_control_char(value: &Value) -> bool {
    match value {
        Value::String(s) => s
            .chars()
            .any(|c| is_forbidden_char(c) && !matches!(c, '\n' | '\r' | '\t')),
        Value::Array(items) => items.iter().any(has_control_char),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.chars().any(is_forbidden_char) || has_control_char(v)),
        _ => false,
    }
}

/// Merges `patch` into `stored` by top-level key (RFC 7396-like, one level): a key in `patch`
/// replaces the stored one; other stored keys stay. Returns whether anything changed.
pub fn merge_attributes(stored: &mut Map<String, Value>, patch: Map<String, Value>) -> bool {
    let mut changed = false;
    for (key, value) in patch {
        if stored.get(&key) != Some(&value) {
            stored.insert(key, value);
            changed = true;
        }
    }
    changed
}

/// Longest accepted tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Most tags on one contact.
pub const MAX_TAGS: usize = 100;

/// Normalises a list of tags: each trimmed and NFC; empty tags, control characters and tags
/// over [`MAX_TAG_CHARS`] are rejected; duplicates are dropped case-insensitively (the first
/// spelling is kept). Errors: `BAD_USER_INPUT` on `field`.
pub fn tags(field: &'static str, values: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let tag = text(field, Some(value), MAX_TAG_CHARS)?
            .ok_or_else(|| AppError::bad_input(field, "tags must not be empty"))?;
        if !out.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// The attributes stored in a row's JSON object (an empty object for a stored non-object).
pub fn stored_attributes(value: &Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    }
}

/// The tags stored in a Lead's JSON array.
pub fn stored_tags(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// `stored` plus those of `add` not already present (case-insensitively), in order.
/// Errors: `BAD_USER_INPUT` on `tags` when the result would exceed [`MAX_TAGS`].
pub fn union_tags(stored: &[String], add: &[String]) -> AppResult<Vec<String>> {
    let mut out = stored.to_vec();
    for tag in add {
        if !out.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            out.push(tag.clone());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(AppError::bad_input(
            "tags",
            format!("a contact has at most {MAX_TAGS} tags"),
        ));
    }
    Ok(out)
}

/// A contact's additional emails after adding `add`: `listed` plus each email of `add` whose
/// match key ([`email_key`]) is neither `own_key` (the contact's email) nor already listed, in
/// order. The caller checks the count against its limit (imports and merges report it
/// differently).
pub fn union_emails<'a>(
    own_key: Option<&str>,
    listed: &[String],
    add: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut keys: Vec<String> = listed.iter().map(|e| email_key(e)).collect();
    keys.extend(own_key.map(str::to_owned));
    let mut out = listed.to_vec();
    for email in add {
        let key = email_key(email);
        if !keys.contains(&key) {
            keys.push(key);
            out.push(email.to_owned());
        }
    }
    out
}

/// `stored` without the tags of `remove` (compared case-insensitively).
pub fn subtract_tags(stored: &[String], remove: &[String]) -> Vec<String> {
    stored
        .iter()
        .filter(|t| !remove.iter().any(|r| r.to_lowercase() == t.to_lowercase()))
        .cloned()
        .collect()
}

/// Validates a top-level attribute key: 1..=100 characters, no control characters, no `"`
/// or `\` (keys are used in JSON paths). Errors: `BAD_USER_INPUT` on `field`.
pub fn attribute_key(field: &'static str, key: &str) -> AppResult<String> {
    if key.is_empty()
        || key.chars().count() > 100
        || key
            .chars()
            .any(|c| is_forbidden_char(c) || c == '"' || c == '\\')
    {
        return Err(AppError::bad_input(
            field,
            "attribute keys have 1 to 100 characters, without quotes, backslashes or control characters",
        ));
    }
    Ok(key.to_owned())
}

/// Parses a UUID given as a GraphQL `ID`. Errors: `BAD_USER_INPUT` on `field`.
pub fn uuid(field: &'static str, value: &str) -> AppResult<uuid::Uuid> {
    uuid::Uuid::from_str(value.trim()).map_err(|_| AppError::bad_input(field, "is not a valid id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_nfc_and_keyed_lower_case() {
        let e = email("email", Some("  Andrea1@Example.COM "))
            .unwrap()
            .unwrap();
        assert_eq!(e.display, "Andrea1@Example.COM");
        assert_eq!(e.key, "andrea1@example.com");
        // NFD input (e + combining acute) gives the NFC key.
        let e = email("email", Some("Ame\u{301}lie@example.com"))
            .unwrap()
            .unwrap();
        assert_eq!(e.key, "am\u{e9}lie@example.com");
        let e = email("email", Some("a+b.c@example.com")).unwrap().unwrap();
        assert_eq!(e.key, "a+b.c@example.com");
    }

    #[test]
    fn bad_emails_are_rejected_blank_is_absent() {
        for bad in [
            "not-an-email",
            "a@b",
            "Name <a@example.com>",
            "a@[127.0.0.1]",
            "a@@x.com",
        ] {
            assert!(
                matches!(
                    email("email", Some(bad)),
                    Err(AppError::BadUserInput { field: "email", .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(email("email", Some("   ")).unwrap(), None);
        assert_eq!(email("email", None).unwrap(), None);
    }

    #[test]
    fn phones_become_e164_or_digits() {
        assert_eq!(
            phone("phone", Some("+1 415 555 2671")).unwrap().as_deref(),
            Some("+14155552671")
        );
        assert_eq!(
            phone("phone", Some("0039 06 6988 1234"))
                .unwrap()
                .as_deref(),
            Some("+390669881234")
        );
        assert_eq!(
            phone("phone", Some("(06) 555-1234")).unwrap().as_deref(),
            Some("065551234")
        );
        assert!(phone("phone", Some("+1 000")).is_err());
        assert!(phone("phone", Some("call me")).is_err());
        assert!(phone("phone", Some("12")).is_err());
        // Found by proptest: "0(000" must not become "0000", which re-parses as "+00".
        assert!(phone("phone", Some("0(000")).is_err());
        assert_eq!(phone("phone", Some("")).unwrap(), None);
    }

    #[test]
    fn text_rejects_control_characters_and_long_values() {
        assert_eq!(
            text("fullname", Some("  Andrea  "), 200)
                .unwrap()
                .as_deref(),
            Some("Andrea")
        );
        assert!(text("fullname", Some("a\u{0}b"), 10).is_err());
        assert!(text("fullname", Some("abcdef"), 5).is_err());
        assert_eq!(text("fullname", Some("  "), 5).unwrap(), None);
    }

    #[test]
    fn domains_are_hosts_lower_case_ascii_without_www() {
        for (input, want) in [
            ("Acme.io", "acme.io"),
            (" www.ACME.io ", "acme.io"),
            ("https://www.acme.io:8443/about?x=1#y", "acme.io"),
            ("http://shop.acme.co.uk/", "shop.acme.co.uk"),
            ("bücher.de", "xn--bcher-kva.de"),
            ("acme.io.", "acme.io"),
            ("www.www.acme.io", "acme.io"),
            ("www.com", "www.com"),
        ] {
            assert_eq!(
                domain("domain", Some(input)).unwrap().as_deref(),
                Some(want),
                "{input}"
            );
        }
        for bad in [
            "acme",
            "ftp://acme.io",
            "info@acme.io",
            "127.0.0.1",
            "http://[::1]/",
            "acme .io",
            "-acme.io",
            "acme_corp.io",
            "a\u{0}.io",
            "www.",
        ] {
            assert!(
                matches!(
                    domain("domain", Some(bad)),
                    Err(AppError::BadUserInput {
                        field: "domain",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert_eq!(domain("domain", Some("  ")).unwrap(), None);
        assert_eq!(domain("domain", None).unwrap(), None);
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated_case_insensitively() {
        let tags = tags("tags", &[" VIP ".into(), "vip".into(), "Lead".into()]).unwrap();
        assert_eq!(tags, ["VIP", "Lead"]);
        assert!(super::tags("tags", &["  ".into()]).is_err());
        assert_eq!(
            union_tags(&tags, &["lead".into(), "new".into()]).unwrap(),
            ["VIP", "Lead", "new"]
        );
        assert_eq!(subtract_tags(&tags, &["vip".into()]), ["Lead"]);
    }

    #[test]
    fn attributes_merge_by_top_level_key() {
        let mut stored = serde_json::json!({"a": 1, "b": {"x": 1}})
            .as_object()
            .unwrap()
            .clone();
        let patch = serde_json::json!({"b": {"y": 2}, "c": 3})
            .as_object()
            .unwrap()
            .clone();
        assert!(merge_attributes(&mut stored, patch));
        assert_eq!(
            Value::Object(stored),
            serde_json::json!({"a": 1, "b": {"y": 2}, "c": 3})
        );
    }
}
