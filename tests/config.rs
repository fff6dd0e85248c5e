//! The configuration: TOML file under environment under flags, unknown keys refused, and the
//! README's settings table generated from the clap command (it must not drift).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_contacts-server"));
    cmd.args(args).env_remove("CONTACTS_CONFIG");
    for var in [
        "MAX_QUERY_DEPTH",
        "MAX_BODY_BYTES",
        "BIND",
        "LOG_FORMAT",
        "METRICS_ENABLED",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:9999\"\nmax_query_depth = 9\nmax_body_bytes = 1000\nmetrics_enabled = false\ncors_allowed_origins = [\"https://a.example\", \"https://b.example\"]\njwt_secret = \"file-secret-file-secret-file-secret-00\"\n",
    )
    .unwrap();
    let out = run(
        &[
            "--config",
            file.to_str().unwrap(),
            "--max-body-bytes",
            "2000",
            "show-config",
        ],
        &[("MAX_QUERY_DEPTH", "11")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        line(&text, "max_body_bytes"),
        "max_body_bytes = 2000  # flag"
    );
    assert_eq!(
        line(&text, "max_query_depth"),
        "max_query_depth = 11  # env"
    );
    assert_eq!(line(&text, "bind"), "bind = \"127.0.0.1:9999\"  # file");
    assert_eq!(
        line(&text, "metrics_enabled"),
        "metrics_enabled = false  # file"
    );
    assert_eq!(
        line(&text, "cors_allowed_origins"),
        "cors_allowed_origins = \"https://a.example,https://b.example\"  # file"
    );
    assert_eq!(
        line(&text, "jwt_secret"),
        "jwt_secret = \"<redacted>\"  # file"
    );
    assert_eq!(
        line(&text, "max_root_fields"),
        "max_root_fields = 20  # default"
    );
    assert!(!text.contains("file-secret"));

    // CONTACTS_CONFIG names the file too; the printed settings load back as a config file.
    let printed = dir.path().join("printed.toml");
    std::fs::write(&printed, text.replace("\"<redacted>\"", "\"x\"")).unwrap();
    let out = run(
        &["show-config"],
        &[("CONTACTS_CONFIG", printed.to_str().unwrap())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        line(&again, "max_body_bytes"),
        "max_body_bytes = 2000  # file"
    );
    assert_eq!(
        line(&again, "max_query_depth"),
        "max_query_depth = 11  # file"
    );
}

#[test]
fn unknown_keys_and_bad_values_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:1\"\ndatabse_url = \"sqlite::memory:\"\n",
    )
    .unwrap();
    let out = run(&["--config", file.to_str().unwrap(), "show-config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key `databse_url`: unknown setting"), "{err}");

    std::fs::write(&file, "max_query_depth = \"deep\"\n").unwrap();
    let out = run(
        &[&format!("--config={}", file.display()), "show-config"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("key `max_query_depth`") && err.contains("'deep'"),
        "{err}"
    );

    std::fs::write(&file, "bind = \"nope\"\n").unwrap();
    let out = run(&["--config", file.to_str().unwrap(), "show-config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key `bind`: invalid value 'nope'"), "{err}");

    // A value as the flag takes it (a string of digits, a comma-separated list) is accepted,
    // and show-config prints it typed.
    std::fs::write(
        &file,
        "max_query_depth = \"11\"\nproduction = true\ncors_allowed_origins = \"x,y\"\n",
    )
    .unwrap();
    let out = run(&["--config", file.to_str().unwrap(), "show-config"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        line(&text, "max_query_depth"),
        "max_query_depth = 11  # file"
    );
    assert_eq!(line(&text, "production"), "production = true  # file");
    assert_eq!(
        line(&text, "cors_allowed_origins"),
        "cors_allowed_origins = \"x,y\"  # file"
    );

    std::fs::write(&file, "[server]\nbind = 1\n").unwrap();
    let out = run(&["--config", file.to_str().unwrap(), "show-config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("key `server`"));

    let out = run(
        &["--config", "/nonexistent/contacts.toml", "show-config"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/contacts.toml"));
}

#[test]
fn readme_settings_table_is_generated() {
    const BEGIN: &str =
        "<!-- settings-table:begin (generated: UPDATE_README=1 cargo test --test config) -->\n";
    const END: &str = "<!-- settings-table:end -->";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let (head, rest) = readme
        .split_once(BEGIN)
        .expect("README has the begin marker");
    let (table, tail) = rest.split_once(END).expect("README has the end marker");
    let generated = contacts_server::config::settings_table();
    if std::env::var_os("UPDATE_README").is_some() && table != generated {
        std::fs::write(path, format!("{head}{BEGIN}{generated}{END}{tail}")).unwrap();
        return;
    }
    assert!(
        table == generated,
        "README.md's settings table is out of date: run `UPDATE_README=1 cargo test --test config` and commit it"
    );
    // Every setting has a row, with its flag and environment variable.
    assert!(generated.contains("| `--database-url` | `DATABASE_URL` | `database_url` | `sqlite://data/contacts.db?mode=rwc` |"));
    assert!(generated.contains("| `--config` | `CONTACTS_CONFIG` | — | — |"));
}
