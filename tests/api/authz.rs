//! Authorization as data: every root query and mutation × every kind of caller → the expected
//! outcome. The operation list is read from the live schema (introspection): an operation
//! without a row here fails the test.

use std::collections::BTreeSet;

use contacts_server::auth::{Claims, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::{Backend, TEST_SECRET, TestApp, db_test};

/// The callers, in the column order of [`TABLE`].
const CALLERS: [&str; 9] = [
    "none",
    "expired",
    "forged",
    "visitor",
    "other-visitor",
    "AGENT",
    "ADMIN",
    "OWNER",
    "other-agent",
];

/// Outcomes: `OK` (data, no error), `NULL` (no error, the field is null) or an
/// `extensions.code`.
const OK: &str = "OK";
const NULL: &str = "NULL";
const UN: &str = "UNAUTHENTICATED";
const FB: &str = "FORBIDDEN";
const NF: &str = "NOT_FOUND";

/// (operation, document; `$contact` is a fresh contact of project A, `$version` its version,
/// `$company` a fresh company of project A, `$project` project A's id, `$n` a unique
/// number), outcome per caller.
const TABLE: &[(&str, &str, [&str; 9])] = &[
    (
        "viewer",
        "query { viewer { role user { id kind fullname email } project { id name autoMergeOnEmail strictAttributes linkCompanyByEmailDomain siteSecretRotatedAt } contact { id leadId fullname email phone company { id } note street city region zipcode country attributes tags status version createdAt updatedAt lastRequestAt erasedAt additionalEmails externalId mergedFrom owner { id } requestsCount requests { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id requestId firstText status channel attributes createdAt updatedAt closedAt contact { id } } } nodes { id } } } } }",
        [NULL, UN, UN, OK, OK, OK, OK, OK, OK],
    ),
    (
        "contacts",
        "query { contacts(attributeFilters: [{ key: \"plan\", exists: false }]) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id leadId fullname email phone company { id name } note street city region zipcode country attributes tags status version createdAt updatedAt lastRequestAt erasedAt requestsCount requests { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id requestId firstText status channel attributes createdAt updatedAt closedAt contact { id } } } nodes { id } } } } nodes { id } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "contact",
        "query($contact: ID!) { contact(id: $contact) { id leadId fullname email phone company { id } note street city region zipcode country attributes tags status version createdAt updatedAt lastRequestAt erasedAt additionalEmails externalId mergedFrom owner { id kind fullname email } notes(first: 5) { pageInfo { hasNextPage } edges { cursor node { id contactId body authorId author { id } createdAt updatedAt } } nodes { id } } timeline { pageInfo { hasNextPage } edges { cursor node { id kind at actorId field before after tagsAdded tagsRemoved requestId mergeId contactIds noteId reason } } nodes { id } } requestsCount requests { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id requestId firstText status channel attributes createdAt updatedAt closedAt contact { id } } } nodes { id } } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NULL],
    ),
    (
        "node",
        "query($contact: ID!) { node(id: $contact) { id ... on Contact { leadId } ... on Request { requestId } ... on User { kind } ... on Project { name } ... on Company { domain } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NULL],
    ),
    (
        "companies",
        "query { companies { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } nodes { id name domain attributes version createdAt updatedAt contactsCount contacts { totalCount pageInfo { hasNextPage } edges { cursor node { id company { id } } } nodes { id } } } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "company",
        "query($company: ID!) { company(id: $company) { id name contactsCount contacts { nodes { id } } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NULL],
    ),
    (
        "createCompany",
        "mutation { createCompany(input: { name: \"C\", attributes: { k: 1 } }) { id name } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "updateCompany",
        "mutation($company: ID!) { updateCompany(input: { id: $company, expectedVersion: 1, name: \"U\" }) { id version } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "deleteCompany",
        "mutation($company: ID!) { deleteCompany(input: { id: $company }) { deletedCompanyId unlinkedContacts } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "signUp",
        "mutation($n: String!) { signUp(input: { email: $n, password: \"password 1\", projectName: \"P\" }) { token } }",
        [OK; 9],
    ),
    (
        "signIn",
        "mutation { signIn(input: { email: \"owner-a@example.com\", password: \"correct horse\" }) { token expiresAt role user { id kind fullname email } project { id name } } }",
        [OK; 9],
    ),
    (
        "signInAnonymously",
        "mutation($project: ID!) { signInAnonymously(input: { projectId: $project }) { token } }",
        [OK; 9],
    ),
    (
        "createRequest",
        "mutation { createRequest(input: { firstText: \"hi\" }) { request { id requestId firstText status channel attributes createdAt updatedAt closedAt contact { id } } contact { id } } }",
        [UN, UN, UN, OK, OK, FB, FB, FB, FB],
    ),
    (
        "captureContactMetadata",
        "mutation { captureContactMetadata(input: { fullname: \"V\" }) { id } }",
        [UN, UN, UN, OK, OK, FB, FB, FB, FB],
    ),
    (
        "createContact",
        "mutation { createContact(input: { fullname: \"C\" }) { id } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "updateContact",
        "mutation($contact: ID!, $version: Int!) { updateContact(input: { id: $contact, expectedVersion: $version, fullname: \"U\" }) { id } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "setContactAttributes",
        "mutation($contact: ID!) { setContactAttributes(input: { id: $contact, attributes: { k: 1 } }) { id } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "addContactTags",
        "mutation($contact: ID!) { addContactTags(input: { id: $contact, tags: [\"t\"] }) { id } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "removeContactTags",
        "mutation($contact: ID!) { removeContactTags(input: { id: $contact, tags: [\"t\"] }) { id } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "deleteContact",
        "mutation($contact: ID!) { deleteContact(input: { id: $contact }) { id } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "restoreContact",
        "mutation($contact: ID!) { restoreContact(input: { id: $contact }) { id } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "eraseContact",
        "mutation($contact: ID!) { eraseContact(input: { id: $contact }) { id } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "deleteContacts",
        "mutation($contact: ID!) { deleteContacts(ids: [$contact]) { succeeded failed matchedCount job { id } results { id contact { id } error { code message field } } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "addTagsToContacts",
        "mutation($contact: ID!) { addTagsToContacts(ids: [$contact], tags: [\"t\"]) { succeeded } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "mergeContactsPreview",
        "query($contact: ID!, $contact2: ID!) { mergeContactsPreview(input: { primaryId: $contact, secondaryIds: [$contact2] }) { canMerge blockers { reason code contactId message } contacts { id } fields { field value sourceContactId conflicts { contactId value } } attributes attributeConflicts { key sourceContactId values { contactId value } } tags additionalEmails requestsToMove tagsAdded attributesAdded } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "duplicateContacts",
        "query { duplicateContacts { pageInfo { hasNextPage } edges { cursor node { rule key size contacts { id } suggestedPrimary { id } } } nodes { key } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "mergeContacts",
        "mutation($contact: ID!, $contact2: ID!) { mergeContacts(input: { primaryId: $contact, secondaryIds: [$contact2] }) { contact { id } mergeId mergedContactIds } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "unmergeContacts",
        "mutation($merge: ID!) { unmergeContacts(input: { mergeId: $merge }) { contact { id } restoredContacts { id } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "updateProjectSettings",
        "mutation { updateProjectSettings(input: { autoMergeOnEmail: false, strictAttributes: false, linkCompanyByEmailDomain: false }) { id autoMergeOnEmail strictAttributes linkCompanyByEmailDomain } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, OK],
    ),
    (
        "rotateProjectSecret",
        "mutation { rotateProjectSecret { secret rotatedAt } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, OK],
    ),
    (
        "contactAttributes",
        "query { contactAttributes(includeArchived: true) { id key label type options archived createdAt updatedAt } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "defineContactAttribute",
        "mutation($n: String!) { defineContactAttribute(input: { key: $n, label: \"L\", type: LIST, options: [\"a\"] }) { id key type options } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, OK],
    ),
    (
        "updateContactAttribute",
        "mutation($attribute: ID!) { updateContactAttribute(input: { id: $attribute, label: \"Renamed\" }) { id label } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "archiveContactAttribute",
        "mutation($attribute: ID!) { archiveContactAttribute(input: { id: $attribute }) { id archived } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "restoreContactAttribute",
        "mutation($attribute: ID!) { restoreContactAttribute(input: { id: $attribute }) { id archived } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "webhooks",
        "query { webhooks { id url events enabled status disabledReason consecutiveFailures deliveredPosition nextAttemptAt createdAt updatedAt recentDeliveries(first: 5) { id position eventType attempt success statusCode error durationMs deliveredAt } } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, OK],
    ),
    (
        "createWebhook",
        "mutation { createWebhook(input: { url: \"https://hooks.invalid/a\", events: [CONTACT_CREATED] }) { secret webhook { id } } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, OK],
    ),
    (
        "updateWebhook",
        "mutation($webhook: ID!) { updateWebhook(id: $webhook, input: { enabled: true }) { id } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "rotateWebhookSecret",
        "mutation($webhook: ID!) { rotateWebhookSecret(id: $webhook) { secret webhook { id } } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "deleteWebhook",
        "mutation($webhook: ID!) { deleteWebhook(id: $webhook) { deletedWebhookId } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "projectMembers",
        "query { projectMembers { user { id } role joinedAt } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "addProjectMember",
        "mutation($agentEmail: String!) { addProjectMember(input: { email: $agentEmail }) { user { id } role } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, OK],
    ),
    (
        "removeProjectMember",
        "mutation($member: ID!) { removeProjectMember(input: { userId: $member }) { removedUserId unassignedContacts } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "assignContacts",
        "mutation($contact: ID!) { assignContacts(ids: [$contact], ownerId: null) { succeeded results { id contact { owner { id } } } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "addContactNote",
        "mutation($contact: ID!) { addContactNote(input: { contactId: $contact, body: \"n\" }) { id body } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "updateContactNote",
        "mutation($note: ID!) { updateContactNote(input: { id: $note, body: \"edited\" }) { id body } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "deleteContactNote",
        "mutation($note: ID!) { deleteContactNote(input: { id: $note }) { deletedNoteId contactId } }",
        [UN, UN, UN, FB, FB, FB, OK, OK, NF],
    ),
    (
        "updateContacts",
        "mutation($contact: ID!) { updateContacts(ids: [$contact], input: { city: \"Oslo\" }) { succeeded results { id contact { city } } } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "bulkJob",
        "query($job: ID!) { bulkJob(id: $job) { id kind status filter total processed succeeded skipped error actorId createdAt updatedAt finishedAt } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NULL],
    ),
    (
        "segments",
        "query { segments { id name filter contactsCount createdBy createdAt updatedAt } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "segment",
        "query($segment: ID!) { segment(id: $segment) { id name contactsCount } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NULL],
    ),
    (
        "saveSegment",
        "mutation($n: String!) { saveSegment(input: { name: $n, filter: { tags: [\"t\"] } }) { id name filter } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, OK],
    ),
    (
        "deleteSegment",
        "mutation($segment: ID!) { deleteSegment(input: { id: $segment }) { deletedSegmentId } }",
        [UN, UN, UN, FB, FB, OK, OK, OK, NF],
    ),
    (
        "signInWithCustomToken",
        "mutation($project: ID!, $site: String!) { signInWithCustomToken(input: { projectId: $project, token: $site }) { token } }",
        [OK; 9],
    ),
    (
        "identifyVisitor",
        "mutation($site: String!) { identifyVisitor(input: { token: $site }) { auth { token } contact { id } } }",
        [UN, UN, UN, OK, UN, FB, FB, FB, FB],
    ),
];

/// A site token for project A, signed with a freshly rotated site secret.
async fn site_token(app: &TestApp, owner: &str, n: usize) -> String {
    let data = app
        .ok(
            Some(owner),
            "mutation { rotateProjectSecret { secret } }",
            json!({}),
        )
        .await;
    let secret = data["rotateProjectSecret"]["secret"].as_str().unwrap();
    let exp = chrono::Utc::now().timestamp() + 600;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({ "external_id": format!("ext-{n}"), "exp": exp }),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Subscriptions (over WebSocket, `after: "0"`: each caller's project has events, and each
/// visitor a request of its own), outcome per caller: `OK` (an event), a code, or `4403` (the
/// socket refused at `connection_init`).
const SUBSCRIPTIONS: &[(&str, &str, [&str; 9])] = &[
    (
        "contactEvents",
        "subscription { contactEvents(after: \"0\") { id position contactId kind at actorId field before after tagsAdded tagsRemoved requestId mergeId contactIds } }",
        [CL, CL, CL, FB, FB, OK, OK, OK, OK],
    ),
    (
        "visitorEvents",
        "subscription { visitorEvents(after: \"0\") { position kind at requestId } }",
        [CL, CL, CL, OK, OK, FB, FB, FB, FB],
    ),
];
const CL: &str = "4403";

/// What `doc` gives `token` over a WebSocket on `app`.
async fn subscription_outcome(app: &TestApp, token: Option<&str>, doc: &str) -> String {
    use crate::support::ws::{Next, TRANSPORT_WS, Ws};
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    let payload = match token {
        Some(t) => json!({ "Authorization": format!("Bearer {t}") }),
        None => json!({}),
    };
    match ws.init(payload).await {
        Next::Message(m) if m["type"] == "connection_ack" => {}
        Next::Closed(code, _) => return code.to_string(),
        other => return format!("{other:?}"),
    }
    ws.subscribe("1", doc, json!({})).await;
    let message = ws.message().await;
    let error = match message["type"].as_str() {
        Some("next") => &message["payload"]["errors"][0],
        _ => &message["payload"][0],
    };
    match error["extensions"]["code"].as_str() {
        Some(code) => code.to_owned(),
        None if message["type"] == "next" => OK.to_owned(),
        None => format!("{message}"),
    }
}

fn token_with(secret: &[u8], exp_offset: i64, project: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &Claims {
            sub: uuid::Uuid::new_v4(),
            pid: project.parse().unwrap(),
            role: Role::Owner,
            iat: now - 10,
            exp: now + exp_offset,
        },
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

async fn authorization_matrix(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project_a) = app.sign_up("owner-a@example.com").await;
    let admin = app.member(&project_a, "admin-a@example.com", "ADMIN").await;
    let agent = app.member(&project_a, "agent-a@example.com", "AGENT").await;
    let (visitor, _) = app.visitor(&project_a).await;
    let (other_agent, project_b) = app.sign_up("owner-b@example.com").await;
    let (other_visitor, _) = app.visitor(&project_b).await;
    // Events in both projects, and a request of each visitor (for the subscriptions).
    app.create_request(&visitor, "hello").await;
    app.create_request(&other_visitor, "hello").await;
    let tokens: [Option<String>; 9] = [
        None,
        Some(token_with(TEST_SECRET.as_bytes(), -3600, &project_a)),
        Some(token_with(
            b"not-the-server-secret-not-the-server-secret",
            3600,
            &project_a,
        )),
        Some(visitor),
        Some(other_visitor),
        Some(agent),
        Some(admin),
        Some(owner.clone()),
        Some(other_agent),
    ];

    // Every root operation of the schema has a row.
    let schema = app
        .ok(
            None,
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
            json!({}),
        )
        .await;
    let mut ops = BTreeSet::new();
    for root in ["queryType", "mutationType", "subscriptionType"] {
        for f in schema["__schema"][root]["fields"].as_array().unwrap() {
            ops.insert(f["name"].as_str().unwrap().to_owned());
        }
    }
    let rows: BTreeSet<String> = TABLE
        .iter()
        .chain(SUBSCRIPTIONS)
        .map(|(op, ..)| (*op).to_owned())
        .collect();
    assert_eq!(
        ops, rows,
        "every operation needs a row in the authorization table"
    );

    // Every field of every output object is selected by some row, so nested fields are
    // checked for every caller too: a new field without a row here fails.
    let types = app
        .ok(
            None,
            "{ __schema { types { name kind fields { name } } } }",
            json!({}),
        )
        .await;
    let selected: BTreeSet<&str> = TABLE
        .iter()
        .chain(SUBSCRIPTIONS)
        .flat_map(|(_, doc, _)| doc.split(|c: char| !(c.is_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
        .collect();
    let mut unselected = Vec::new();
    for t in types["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if t["kind"] != "OBJECT"
            || name.starts_with("__")
            || ["Query", "Mutation", "Subscription"].contains(&name)
        {
            continue;
        }
        for f in t["fields"].as_array().unwrap() {
            let field = f["name"].as_str().unwrap();
            if !selected.contains(field) {
                unselected.push(format!("{name}.{field}"));
            }
        }
    }
    assert!(
        unselected.is_empty(),
        "fields no authorization row selects: {unselected:?}"
    );

    let mut n = 0;
    let mut failures = Vec::new();
    for (op, doc, expected) in TABLE {
        for (i, caller) in CALLERS.iter().enumerate() {
            n += 1;
            let contact = app
                .create_contact(&owner, json!({ "fullname": "Target" }))
                .await;
            let mut vars = json!({
                "contact": contact["id"],
                "version": contact["version"],
                "project": project_a,
                "n": format!("user{n}@example.com"),
            });
            if doc.contains("$contact2:") || doc.contains("$merge:") {
                let other = app
                    .create_contact(&owner, json!({ "fullname": "Other" }))
                    .await;
                vars["contact2"] = other["id"].clone();
                if doc.contains("$merge:") {
                    let merged = app
                        .ok(
                            Some(&owner),
                            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId } }",
                            json!({ "p": contact["id"], "s": other["id"] }),
                        )
                        .await;
                    vars["merge"] = merged["mergeContacts"]["mergeId"].clone();
                }
            }
            if doc.contains("$company:") {
                let created = app
                    .ok(
                        Some(&owner),
                        "mutation { createCompany(input: { name: \"Target Co\" }) { id } }",
                        json!({}),
                    )
                    .await;
                vars["company"] = created["createCompany"]["id"].clone();
            }
            if doc.contains("$webhook:") {
                let created = app
                    .ok(
                        Some(&owner),
                        "mutation { createWebhook(input: { url: \"https://hooks.invalid/m\", events: [CONTACT_UPDATED] }) { webhook { id } } }",
                        json!({}),
                    )
                    .await;
                vars["webhook"] = created["createWebhook"]["webhook"]["id"].clone();
            }
            if doc.contains("$note:") {
                let note = app
                    .ok(
                        Some(&owner),
                        "mutation($c: ID!) { addContactNote(input: { contactId: $c, body: \"by the owner\" }) { id } }",
                        json!({ "c": contact["id"] }),
                    )
                    .await;
                vars["note"] = note["addContactNote"]["id"].clone();
            }
            if doc.contains("$agentEmail:") {
                let email = format!("account{n}@example.com");
                app.sign_up(&email).await;
                vars["agentEmail"] = json!(email);
            }
            if doc.contains("$member:") {
                let member = app
                    .member(&project_a, &format!("member{n}@example.com"), "AGENT")
                    .await;
                vars["member"] = app
                    .ok(Some(&member), "{ viewer { user { id } } }", json!({}))
                    .await["viewer"]["user"]["id"]
                    .clone();
            }
            if doc.contains("$segment:") {
                let segment = app
                    .ok(
                        Some(&owner),
                        "mutation($n: String!) { saveSegment(input: { name: $n, filter: {} }) { id } }",
                        json!({ "n": format!("segment {n}") }),
                    )
                    .await;
                vars["segment"] = segment["saveSegment"]["id"].clone();
            }
            if doc.contains("$job:") {
                let job = app
                    .ok(
                        Some(&owner),
                        "mutation { addTagsToContacts(filter: { search: \"nobody\" }, tags: [\"t\"]) { job { id } } }",
                        json!({}),
                    )
                    .await;
                vars["job"] = job["addTagsToContacts"]["job"]["id"].clone();
            }
            if doc.contains("$attribute:") {
                let defined = app
                    .ok(
                        Some(&owner),
                        "mutation($k: String!) { defineContactAttribute(input: { key: $k, label: \"A\", type: NUMBER }) { id } }",
                        json!({ "k": format!("attr-{n}") }),
                    )
                    .await;
                vars["attribute"] = defined["defineContactAttribute"]["id"].clone();
            }
            if doc.contains("$site:") {
                vars["site"] = json!(site_token(&app, &owner, n).await);
            }
            // Pass only the variables the document declares.
            let vars: serde_json::Map<String, Value> = vars
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| doc.contains(&format!("${k}:")))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let body = app
                .gql(tokens[i].as_deref(), doc, Value::Object(vars))
                .await;
            let outcome = match body["errors"][0]["extensions"]["code"].as_str() {
                Some(code) => code.to_owned(),
                None if body["data"][op].is_null() => NULL.to_owned(),
                None => OK.to_owned(),
            };
            if outcome != expected[i] {
                failures.push(format!(
                    "{op} as {caller}: expected {}, got {outcome}: {body}",
                    expected[i]
                ));
            }
        }
    }
    for (op, doc, expected) in SUBSCRIPTIONS {
        for (i, caller) in CALLERS.iter().enumerate() {
            n += 1;
            let outcome = subscription_outcome(&app, tokens[i].as_deref(), doc).await;
            if outcome != expected[i] {
                failures.push(format!(
                    "{op} as {caller}: expected {}, got {outcome}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
db_test!(authorization_matrix);
