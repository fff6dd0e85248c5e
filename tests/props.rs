//! Property tests (proptest) of the normalisers (emails, phones, domains, text) and the
//! cursor decoder: they never panic, normalising twice equals once, and whatever the decoder
//! rejects is `BAD_USER_INPUT`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use contacts_server::error::AppError;
use contacts_server::normalize;
use contacts_server::service::pagination::{Cursor, PageArgs};
use proptest::prelude::*;

fn emailish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ a-zA-Z0-9.+_\u{e9}\u{301}-]{1,20}@[a-zA-Z0-9-]{1,10}\\.[a-zA-Z]{2,5} ?",
        "[ \\PC]{0,10}@[\\PC]{0,10}",
    ]
}

fn domainish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(https?://)?(www\\.){0,3}[a-zA-Z0-9\u{e9}\u{fc}-]{1,12}(\\.[a-zA-Z0-9-]{1,8}){1,3}\\.?(:[0-9]{1,5})?(/[ -~]{0,10})?",
        "[ \\PC]{0,30}",
    ]
}

fn phoneish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(\\+|00)?[0-9 ()./-]{0,20}",
        "\\+[1-9][0-9]{6,14}"
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn email_normalisation_is_idempotent(s in emailish()) {
        match normalize::email("email", Some(&s)) {
            Ok(Some(e)) => {
                let again = normalize::email("email", Some(&e.display)).unwrap().unwrap();
                prop_assert_eq!(&again, &e);
                prop_assert_eq!(normalize::email_key(&e.key), e.key.clone());
                prop_assert_eq!(normalize::email_key(&s), e.key);
            }
            Ok(None) => prop_assert!(s.trim().is_empty()),
            Err(AppError::BadUserInput { field, .. }) => prop_assert_eq!(field, "email"),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn phone_normalisation_is_idempotent(s in phoneish()) {
        match normalize::phone("phone", Some(&s)) {
            Ok(Some(p)) => {
                prop_assert_eq!(normalize::phone("phone", Some(&p)).unwrap(), Some(p.clone()));
                prop_assert!(p.starts_with('+') || p.chars().all(|c| c.is_ascii_digit()));
            }
            Ok(None) => prop_assert!(s.trim().is_empty()),
            Err(AppError::BadUserInput { field, .. }) => prop_assert_eq!(field, "phone"),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn domain_normalisation_is_idempotent(s in domainish()) {
        match normalize::domain("domain", Some(&s)) {
            Ok(Some(d)) => {
                prop_assert_eq!(normalize::domain("domain", Some(&d)).unwrap(), Some(d.clone()));
                prop_assert!(d.is_ascii() && d.contains('.'));
                prop_assert!(d.strip_prefix("www.").is_none_or(|rest| !rest.contains('.')));
                prop_assert_eq!(d.to_ascii_lowercase(), d.clone());
            }
            Ok(None) => prop_assert!(s.trim().is_empty()),
            Err(AppError::BadUserInput { field, .. }) => prop_assert_eq!(field, "domain"),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn text_normalisation_is_idempotent(s in any::<String>()) {
        if let Ok(Some(t)) = normalize::text("fullname", Some(&s), 200) {
            prop_assert_eq!(normalize::text("fullname", Some(&t), 200).unwrap(), Some(t.clone()));
            prop_assert!(!t.chars().any(normalize::is_forbidden_char));
        }
    }

    #[test]
    fn cursor_decoder_rejects_with_bad_user_input(s in any::<String>()) {
        match Cursor::decode("after", &s) {
            Ok(c) => prop_assert_eq!(Cursor::decode("after", &c.encode()).unwrap(), c),
            Err(AppError::BadUserInput { field, .. }) => prop_assert_eq!(field, "after"),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
        match PageArgs::new(Some(10), Some(&s)) {
            Ok(_) | Err(AppError::BadUserInput { field: "after", .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn cursors_round_trip(micros in -62_000_000_000_000_000i64..250_000_000_000_000_000i64, id in any::<u128>()) {
        let c = Cursor {
            created_at: chrono::DateTime::from_timestamp_micros(micros).unwrap(),
            id: uuid::Uuid::from_u128(id),
        };
        prop_assert_eq!(Cursor::decode("after", &c.encode()).unwrap(), c);
    }
}

fn cellish() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "'{0,3}[=+@\t\r'-]{0,2}[a-z0-9 ]{0,5}"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// CSV formula defusing: export → import gives back the cell exactly, and no exported
    /// cell starts with a character a spreadsheet reads as a formula.
    #[test]
    fn csv_cells_round_trip_and_never_start_a_formula(cell in cellish()) {
        use contacts_server::ops::csv_io::{defuse, restore};
        let written = defuse(cell.clone());
        prop_assert_eq!(restore(&written), cell.as_str());
        prop_assert!(!written.starts_with(['=', '+', '-', '@', '\t', '\r']), "{:?}", written);
    }
}
