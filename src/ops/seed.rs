//! `seed --demo`: a demo project with two agents and twenty visitors, each with a contact
//! and one to three requests, created through the service layer (the API's validation).

use std::fmt;

use rand::Rng;
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Role;
use crate::error::AppError;
use crate::service::fields::{ContactField, ContactFields, Patch};
use crate::service::{ProjectScope, accounts, contacts, visitors};

/// The demo project's OWNER (signs in with the printed password).
pub const DEMO_OWNER_EMAIL: &str = "demo-owner@example.com";
/// The demo project's second agent, role AGENT (same password).
pub const DEMO_AGENT_EMAIL: &str = "demo-agent@example.com";
/// Visitors (and so contacts) created.
pub const DEMO_VISITORS: usize = 20;

const NAMES: [(&str, &str); DEMO_VISITORS] = [
    ("Andrea", "Sponziello"),
    ("Grace", "Hopper"),
    ("Álvaro", "Núñez"),
    ("Ada", "Lovelace"),
    ("Linus", "Torvalds"),
    ("Margaret", "Hamilton"),
    ("Søren", "Kierkegaard"),
    ("Chiara", "Ferragni"),
    ("Yuki", "Tanaka"),
    ("Olusegun", "Adeyemi"),
    ("Ingrid", "Bergman"),
    ("Mateo", "García"),
    ("Zoë", "Kravitz"),
    ("Priya", "Sharma"),
    ("Lars", "Ulrich"),
    ("Fatima", "Zahra"),
    ("Hiroshi", "Sato"),
    ("Élodie", "Durand"),
    ("Kwame", "Mensah"),
    ("Anna", "Kowalska"),
];
const COMPANIES: [&str; 5] = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"];
const CITIES: [&str; 5] = ["Rome", "London", "Madrid", "Berlin", "Tokyo"];
const TAGS: [&str; 5] = ["vip", "trial", "renewal", "newsletter", "enterprise"];
const PLANS: [&str; 3] = ["free", "pro", "enterprise"];
const TEXTS: [&str; 5] = [
    "Hello, I need help with my order",
    "How do I change my billing address?",
    "The app crashes when I upload a photo",
    "Can I get a refund for last month?",
    "Is there a discount for non-profits?",
];

/// What [`seed_demo`] created; its `Display` is what the subcommand prints (`key: value`
/// lines).
#[derive(Clone, Debug)]
pub struct DemoSeed {
    /// The demo project.
    pub project_id: Uuid,
    /// The password of both agents.
    pub password: String,
    /// Contacts created.
    pub contacts: usize,
    /// Requests created.
    pub requests: usize,
}

impl fmt::Display for DemoSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "project: {}", self.project_id)?;
        writeln!(f, "owner: {DEMO_OWNER_EMAIL}")?;
        writeln!(f, "agent: {DEMO_AGENT_EMAIL}")?;
        writeln!(f, "password: {}", self.password)?;
        writeln!(f, "contacts: {}", self.contacts)?;
        writeln!(f, "requests: {}", self.requests)
    }
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The demo owner exists: the database was seeded before.
    #[error(
        "the demo owner {DEMO_OWNER_EMAIL} already exists: this database is seeded already (sign in with its password, or seed a fresh database)"
    )]
    AlreadySeeded,
    /// A service call failed.
    #[error("{}", super::describe(.0))]
    Service(#[from] AppError),
}

/// A random 16-character alphanumeric password.
pub fn random_password() -> String {
    rand::rngs::OsRng
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

/// Creates the demo project: the OWNER [`DEMO_OWNER_EMAIL`] (by sign-up), the AGENT
/// [`DEMO_AGENT_EMAIL`], then [`DEMO_VISITORS`] anonymous visitors, each starting 1 to 3
/// requests (which creates its contact), giving a phone by metadata capture, and agents
/// setting company, city, tags and attributes; every tenth contact is soft-deleted. Uses
/// `password` for both agents, or a [`random_password`]. Not transactional as a whole (like
/// the API calls it replays). Errors: [`SeedError::AlreadySeeded`] before anything is written
/// when the owner exists; `BAD_USER_INPUT` for a password under 8 characters; database errors.
pub async fn seed_demo(
    db: &DatabaseConnection,
    password: Option<String>,
) -> Result<DemoSeed, SeedError> {
    let password = password.unwrap_or_else(random_password);
    let session = match accounts::sign_up(
        db,
        accounts::SignUp {
            email: DEMO_OWNER_EMAIL.into(),
            password: password.clone(),
            fullname: Some("Demo Owner".into()),
            project_name: "Demo help desk".into(),
        },
    )
    .await
    {
        Ok(session) => session,
        Err(AppError::Conflict(_)) => return Err(SeedError::AlreadySeeded),
        Err(err) => return Err(err.into()),
    };
    let project_id = session.project.id;
    let scope = ProjectScope::operator(project_id);
    accounts::add_agent(
        db,
        project_id,
        DEMO_AGENT_EMAIL,
        &password,
        Some("Demo Agent"),
        Role::Agent,
    )
    .await?;
    let mut requests_made = 0;
    for (i, (first, last)) in NAMES.iter().enumerate() {
        let email = format!("{}.{}@example.com", ascii_lower(first), ascii_lower(last));
        let visitor = accounts::sign_in_anonymously(
            db,
            project_id,
            accounts::AnonymousSignIn {
                firstname: Some((*first).into()),
                lastname: Some((*last).into()),
                email: Some(email),
                attributes: Some(json!({ "plan": PLANS[i % PLANS.len()], "seats": i + 1 })),
            },
        )
        .await?;
        for r in 0..=(i % 3) {
            visitors::create_request(
                db,
                scope,
                visitor.user.id,
                visitors::NewRequest {
                    first_text: TEXTS[(i + r) % TEXTS.len()].into(),
                    channel: Some(visitors::CHANNELS[(i + r) % visitors::CHANNELS.len()].into()),
                    attributes: Some(json!({ "page": format!("/help/{}", r + 1) })),
                },
            )
            .await?;
            requests_made += 1;
        }
        let lead = visitors::capture_metadata(
            db,
            scope,
            visitor.user.id,
            visitors::MetadataInput {
                phone: Some(format!("+39 06 6988 {:04}", 1000 + i)),
                ..Default::default()
            },
        )
        .await?;
        let lead = contacts::update(
            db,
            scope,
            None,
            (lead.id, lead.version),
            ContactFields::default()
                .with(
                    ContactField::Company,
                    Patch::Set(COMPANIES[i % COMPANIES.len()].into()),
                )
                .with(
                    ContactField::City,
                    Patch::Set(CITIES[i % CITIES.len()].into()),
                ),
            Patch::Keep,
        )
        .await?;
        let tags = vec![
            TAGS[i % TAGS.len()].to_owned(),
            TAGS[(i + 2) % TAGS.len()].to_owned(),
        ];
        contacts::add_tags(db, scope, None, lead.id, &tags).await?;
        if i % 10 == 9 {
            contacts::delete(db, scope, None, lead.id).await?;
        }
    }
    Ok(DemoSeed {
        project_id,
        password,
        contacts: NAMES.len(),
        requests: requests_made,
    })
}

/// `name` lower-cased with the accents of Latin letters dropped (for demo email addresses).
fn ascii_lower(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfd()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
