//! Contact owners and the project's team: `assignContacts`, `Contact.owner`, the `owner` /
//! `unassigned` filters, `projectMembers`, `addProjectMember`, `removeProjectMember` (which
//! unassigns the member's contacts and says so on their timelines).

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

const ASSIGN: &str = "mutation($ids: [ID!]!, $o: ID) { assignContacts(ids: $ids, ownerId: $o) { succeeded failed results { id contact { id version owner { id fullname email } } error { code field } } } }";
const BY_OWNER: &str = "query($o: ID, $u: Boolean) { contacts(owner: $o, unassigned: $u, first: 100) { totalCount nodes { id owner { id } } } }";
const REMOVE: &str = "mutation($u: ID!) { removeProjectMember(input: { userId: $u }) { removedUserId unassignedContacts } }";
const ADD: &str = "mutation($e: String!, $r: Role) { addProjectMember(input: { email: $e, role: $r }) { user { id email } role joinedAt } }";

async fn user_id(app: &TestApp, token: &str) -> String {
    app.ok(Some(token), "{ viewer { user { id } } }", json!({}))
        .await["viewer"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids(data: &Value) -> Vec<String> {
    let mut out: Vec<String> = data["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

async fn contacts_are_assigned_filtered_and_unassigned(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let agent_id = user_id(&app, &agent).await;
    let owner_id = user_id(&app, &owner).await;
    let mut made = Vec::new();
    for name in ["A", "B", "C"] {
        made.push(
            app.create_contact(&owner, json!({ "fullname": name }))
                .await,
        );
    }
    let (a, b, c) = (&made[0], &made[1], &made[2]);

    let resp = app
        .ok(
            Some(&owner),
            ASSIGN,
            json!({ "ids": [a["id"], b["id"]], "o": agent_id }),
        )
        .await["assignContacts"]
        .clone();
    assert_eq!(
        (resp["succeeded"].as_i64(), resp["failed"].as_i64()),
        (Some(2), Some(0))
    );
    let first = &resp["results"][0]["contact"];
    assert_eq!(first["owner"]["id"], agent_id.as_str());
    assert_eq!(first["owner"]["email"], "agent@example.com");
    assert_eq!(first["version"], a["version"].as_i64().unwrap() + 1);
    app.ok(
        Some(&agent),
        ASSIGN,
        json!({ "ids": [c["id"]], "o": owner_id }),
    )
    .await;

    let mut expect = vec![
        a["id"].as_str().unwrap().to_owned(),
        b["id"].as_str().unwrap().to_owned(),
    ];
    expect.sort();
    let mine = app
        .ok(Some(&owner), BY_OWNER, json!({ "o": agent_id }))
        .await;
    assert_eq!(ids(&mine), expect);
    assert_eq!(mine["contacts"]["totalCount"], 2);
    let theirs = app
        .ok(Some(&owner), BY_OWNER, json!({ "o": owner_id }))
        .await;
    assert_eq!(ids(&theirs), [c["id"].as_str().unwrap()]);
    // Unassign B; the unassigned filter finds it, `unassigned: false` the other two.
    let resp = app
        .ok(Some(&agent), ASSIGN, json!({ "ids": [b["id"]], "o": null }))
        .await;
    assert!(resp["assignContacts"]["results"][0]["contact"]["owner"].is_null());
    let none = app.ok(Some(&owner), BY_OWNER, json!({ "u": true })).await;
    assert_eq!(ids(&none), [b["id"].as_str().unwrap()]);
    let some = app.ok(Some(&owner), BY_OWNER, json!({ "u": false })).await;
    assert_eq!(some["contacts"]["totalCount"], 2);
    let both = app
        .gql(Some(&owner), BY_OWNER, json!({ "o": agent_id, "u": true }))
        .await;
    assert_eq!(code(&both), "BAD_USER_INPUT");
    assert_eq!(both["errors"][0]["extensions"]["field"], "unassigned");

    // The timeline: FIELD_CHANGED owner, before → after, by the actor.
    let events = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { timeline { nodes { kind field before after actorId reason } } } }",
            json!({ "id": b["id"] }),
        )
        .await["contact"]["timeline"]["nodes"]
        .clone();
    assert_eq!(
        events[0],
        json!({ "kind": "FIELD_CHANGED", "field": "owner", "before": agent_id, "after": null, "actorId": agent_id, "reason": null })
    );
    assert_eq!(events[1]["after"], agent_id.as_str());
    assert_eq!(events[1]["actorId"], owner_id.as_str());
    // Assigning the same owner again changes nothing.
    let again = app
        .ok(
            Some(&owner),
            ASSIGN,
            json!({ "ids": [a["id"]], "o": agent_id }),
        )
        .await;
    assert_eq!(
        again["assignContacts"]["results"][0]["contact"]["version"],
        first["version"]
    );
}
db_test!(contacts_are_assigned_filtered_and_unassigned);

async fn owners_are_agents_of_the_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let (other, _) = app.sign_up("other@example.com").await;
    let other_id = user_id(&app, &other).await;
    let (visitor, visitor_id) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hi").await;
    let contact = made["contact"]["id"].clone();
    for (o, why) in [
        (json!(other_id), "another project's agent"),
        (json!(visitor_id), "a visitor of the project"),
        (json!(uuid::Uuid::new_v4().to_string()), "nobody"),
        (json!("not-a-uuid"), "not a UUID"),
    ] {
        let resp = app
            .gql(Some(&owner), ASSIGN, json!({ "ids": [contact], "o": o }))
            .await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{why}: {resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], "ownerId", "{why}");
    }
    // Per-id outcomes: an unknown id, another project's contact, a bad id.
    let theirs = app.create_contact(&other, json!({ "fullname": "X" })).await;
    let owner_id = user_id(&app, &owner).await;
    let resp = app
        .ok(
            Some(&owner),
            ASSIGN,
            json!({ "ids": [contact, theirs["id"], "nope"], "o": owner_id }),
        )
        .await["assignContacts"]
        .clone();
    assert_eq!(
        (resp["succeeded"].as_i64(), resp["failed"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(resp["results"][1]["error"]["code"], "NOT_FOUND");
    assert_eq!(resp["results"][2]["error"]["code"], "BAD_USER_INPUT");
    // The other project's agent cannot assign our contact, nor see it by owner.
    let resp = app
        .ok(
            Some(&other),
            ASSIGN,
            json!({ "ids": [contact], "o": other_id }),
        )
        .await;
    assert_eq!(
        resp["assignContacts"]["results"][0]["error"]["code"],
        "NOT_FOUND"
    );
    let resp = app
        .ok(Some(&other), BY_OWNER, json!({ "o": owner_id }))
        .await;
    assert_eq!(resp["contacts"]["totalCount"], 0);
    // The visitor reads its own contact, never who owns it.
    let mine = app
        .ok(
            Some(&visitor),
            "{ viewer { contact { id owner { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["viewer"]["contact"]["id"], contact);
    assert!(mine["viewer"]["contact"]["owner"].is_null());
    let agent_view = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { owner { id } } }",
            json!({ "id": contact }),
        )
        .await;
    assert_eq!(agent_view["contact"]["owner"]["id"], owner_id.as_str());
}
db_test!(owners_are_agents_of_the_project);

async fn the_team_is_listed_added_and_removed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let admin = app.member(&project, "admin@example.com", "ADMIN").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    // A visitor is a (GUEST) member too, but not of the team.
    app.visitor(&project).await;
    let (owner_id, admin_id, agent_id) = (
        user_id(&app, &owner).await,
        user_id(&app, &admin).await,
        user_id(&app, &agent).await,
    );
    let team = app
        .ok(
            Some(&agent),
            "{ projectMembers { user { id kind } role joinedAt } }",
            json!({}),
        )
        .await["projectMembers"]
        .clone();
    let listed: Vec<(&str, &str)> = team
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"]["id"].as_str().unwrap(),
                m["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (owner_id.as_str(), "OWNER"),
            (admin_id.as_str(), "ADMIN"),
            (agent_id.as_str(), "AGENT")
        ],
        "agents in the order they joined, no visitor"
    );

    // Adding: an existing agent account, by email; the codes of the refusals.
    let (_, _) = app.sign_up("newcomer@example.com").await;
    let added = app
        .ok(Some(&admin), ADD, json!({ "e": " NewComer@Example.com " }))
        .await["addProjectMember"]
        .clone();
    assert_eq!(added["role"], "AGENT");
    assert_eq!(added["user"]["email"], "newcomer@example.com");
    let resp = app
        .gql(Some(&admin), ADD, json!({ "e": "newcomer@example.com" }))
        .await;
    assert_eq!(code(&resp), "CONFLICT");
    let resp = app
        .gql(Some(&admin), ADD, json!({ "e": "nobody@example.com" }))
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    let (_, _) = app.sign_up("boss@example.com").await;
    let resp = app
        .gql(
            Some(&admin),
            ADD,
            json!({ "e": "boss@example.com", "r": "OWNER" }),
        )
        .await;
    assert_eq!(code(&resp), "FORBIDDEN", "an ADMIN cannot make an OWNER");
    let resp = app
        .gql(
            Some(&owner),
            ADD,
            json!({ "e": "boss@example.com", "r": "GUEST" }),
        )
        .await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    assert_eq!(resp["errors"][0]["extensions"]["field"], "role");
    let boss = app
        .ok(
            Some(&owner),
            ADD,
            json!({ "e": "boss@example.com", "r": "OWNER" }),
        )
        .await;
    assert_eq!(boss["addProjectMember"]["role"], "OWNER");
    let resp = app
        .gql(Some(&agent), ADD, json!({ "e": "x@example.com" }))
        .await;
    assert_eq!(code(&resp), "FORBIDDEN");

    // Removing: the agent's contacts become unassigned, with a timeline event saying why.
    let mut theirs = Vec::new();
    for n in 0..3 {
        let c = app
            .create_contact(&owner, json!({ "fullname": format!("C{n}") }))
            .await;
        theirs.push(c["id"].clone());
    }
    let kept = app
        .create_contact(&owner, json!({ "fullname": "Kept" }))
        .await;
    app.ok(
        Some(&owner),
        ASSIGN,
        json!({ "ids": theirs, "o": agent_id }),
    )
    .await;
    app.ok(
        Some(&owner),
        ASSIGN,
        json!({ "ids": [kept["id"]], "o": admin_id }),
    )
    .await;
    let resp = app
        .gql(Some(&admin), REMOVE, json!({ "u": owner_id }))
        .await;
    assert_eq!(code(&resp), "FORBIDDEN", "an ADMIN cannot remove an OWNER");
    let resp = app
        .gql(Some(&agent), REMOVE, json!({ "u": admin_id }))
        .await;
    assert_eq!(code(&resp), "FORBIDDEN", "an AGENT cannot remove anybody");
    let removed =
        app.ok(Some(&admin), REMOVE, json!({ "u": agent_id })).await["removeProjectMember"].clone();
    assert_eq!(removed["removedUserId"], agent_id.as_str());
    assert_eq!(removed["unassignedContacts"], 3);
    let none = app.ok(Some(&owner), BY_OWNER, json!({ "u": true })).await;
    let mut expect: Vec<String> = theirs
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    expect.sort();
    assert_eq!(ids(&none), expect);
    let still = app
        .ok(Some(&owner), BY_OWNER, json!({ "o": admin_id }))
        .await;
    assert_eq!(ids(&still), [kept["id"].as_str().unwrap()]);
    let event = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { version timeline(first: 1) { nodes { kind field before after actorId reason } } } }",
            json!({ "id": theirs[0] }),
        )
        .await["contact"]
        .clone();
    assert_eq!(
        event["timeline"]["nodes"][0],
        json!({ "kind": "FIELD_CHANGED", "field": "owner", "before": agent_id, "after": null, "actorId": admin_id, "reason": "MEMBER_REMOVED" })
    );
    assert_eq!(event["version"], 3, "created 1, assigned 2, unassigned 3");
    // The removed agent's token no longer opens a session; it is not listed any more.
    let resp = app
        .gql(Some(&agent), "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(code(&resp), "UNAUTHENTICATED");
    let team = app
        .ok(
            Some(&owner),
            "{ projectMembers { user { id } } }",
            json!({}),
        )
        .await;
    assert!(!team.to_string().contains(&agent_id));
    let resp = app
        .gql(Some(&owner), REMOVE, json!({ "u": agent_id }))
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    // An OWNER may remove an OWNER, but never the last one.
    let boss_id = boss["addProjectMember"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(Some(&owner), REMOVE, json!({ "u": boss_id })).await;
    let resp = app
        .gql(Some(&owner), REMOVE, json!({ "u": owner_id }))
        .await;
    assert_eq!(code(&resp), "CONFLICT", "the last OWNER stays");
}
db_test!(the_team_is_listed_added_and_removed);

async fn merge_and_unmerge_keep_owners(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let (owner_id, agent_id) = (user_id(&app, &owner).await, user_id(&app, &agent).await);
    let a = app.create_contact(&owner, json!({ "fullname": "A" })).await;
    let b = app.create_contact(&owner, json!({ "fullname": "B" })).await;
    app.ok(
        Some(&owner),
        ASSIGN,
        json!({ "ids": [a["id"]], "o": owner_id }),
    )
    .await;
    app.ok(
        Some(&owner),
        ASSIGN,
        json!({ "ids": [b["id"]], "o": agent_id }),
    )
    .await;
    let merged = app
        .ok(
            Some(&owner),
            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId contact { owner { id } } } }",
            json!({ "p": a["id"], "s": b["id"] }),
        )
        .await["mergeContacts"]
        .clone();
    assert_eq!(
        merged["contact"]["owner"]["id"],
        owner_id.as_str(),
        "the survivor's owner"
    );
    app.ok(
        Some(&owner),
        "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { id } } }",
        json!({ "m": merged["mergeId"] }),
    )
    .await;
    let owner_of = |id: Value| {
        let app = &app;
        let owner = owner.clone();
        async move {
            app.ok(
                Some(&owner),
                "query($id: ID!) { contact(id: $id) { owner { id } } }",
                json!({ "id": id }),
            )
            .await["contact"]["owner"]["id"]
                .clone()
        }
    };
    assert_eq!(owner_of(a["id"].clone()).await, owner_id.as_str());
    assert_eq!(owner_of(b["id"].clone()).await, agent_id.as_str());
}
db_test!(merge_and_unmerge_keep_owners);
