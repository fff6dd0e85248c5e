//! The binary's subcommands: `export-schema` and `migrate [up|down|status]`, on SQLite and on
//! PostgreSQL (every migration has a working `down`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[path = "support/mod.rs"]
mod support;

use support::{Backend, TestDb};

fn run(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_contacts-server"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How many migrations `migration::Migrator` has (read from it, so a new one needs no edit).
fn migrations() -> usize {
    use migration::MigratorTrait;
    migration::Migrator::migrations().len()
}

fn counts(status: &str) -> (usize, usize) {
    (
        status.matches("Applied").count(),
        status.matches("Pending").count(),
    )
}

fn migrate_round_trip(url: &str) {
    let total = migrations();
    assert!(total >= 7, "the migrations through 7 (webhooks)");
    let status = run(url, &["migrate", "status"]);
    assert_eq!(counts(&status), (0, total), "{status}");
    run(url, &["migrate"]);
    let status = run(url, &["migrate", "status"]);
    assert_eq!(counts(&status), (total, 0), "{status}");
    // Every migration's `down` works, newest first, down to an empty database.
    for applied in (0..total).rev() {
        run(url, &["migrate", "down"]);
        let status = run(url, &["migrate", "status"]);
        assert_eq!(counts(&status), (applied, total - applied), "{status}");
    }
    run(url, &["migrate", "up"]);
    let status = run(url, &["migrate", "status"]);
    assert_eq!(counts(&status), (total, 0), "{status}");
}

#[tokio::test]
async fn migrate_up_down_status_on_sqlite() {
    let db = TestDb::new(Backend::Sqlite).await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || migrate_round_trip(&url))
        .await
        .unwrap();
}

#[tokio::test]
async fn migrate_up_down_status_on_postgres() {
    let db = TestDb::new(Backend::Postgres).await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || migrate_round_trip(&url))
        .await
        .unwrap();
}

#[test]
fn export_schema_prints_the_checked_in_schema() {
    let sdl = run("sqlite::memory:", &["export-schema"]);
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(sdl, checked_in);
}
