//! The self-hosted GraphiQL page: its example tabs run, in order, as the product scenario
//! against the real server (so they cannot drift from the schema); the page embeds them and
//! loads only its own assets, under a strict CSP; the assets are served with their content
//! type and cached for good under a versioned path. (The page in a real browser:
//! `tests/browser/`.)

use std::collections::BTreeSet;

use contacts_server::graphiql::{EXAMPLES, Example, assets_base};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, db_test};
use crate::support::ws::{Next, TRANSPORT_WS, Ws};

/// Runs an example as GraphiQL would send it: its query, its variables and headers with the
/// `<...>` placeholders replaced by `values`. Returns the response body.
async fn run_example(app: &TestApp, example: &Example, values: &[(&str, &str)]) -> Value {
    let fill = |text: &str| {
        values
            .iter()
            .fold(text.to_owned(), |text, (k, v)| text.replace(k, v))
    };
    let variables: Value = if example.variables.is_empty() {
        json!({})
    } else {
        serde_json::from_str(&fill(example.variables)).unwrap()
    };
    let mut req = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": example.query, "variables": variables }));
    if !example.headers.is_empty() {
        let headers: Value = serde_json::from_str(&fill(example.headers)).unwrap();
        for (name, value) in headers.as_object().unwrap() {
            req = req.header(name.as_str(), value.as_str().unwrap());
        }
    }
    let body: Value = req.send().await.unwrap().json().await.unwrap();
    let text = format!("{}{}", body, fill(example.headers));
    assert!(!text.contains("<agent token>") && !text.contains("<visitor token>"));
    assert!(
        body.get("errors").is_none(),
        "example {} failed: {body:#}",
        example.file
    );
    body["data"].clone()
}

/// Runs a subscription example as the page does (`assets/graphiql/init.js`): a
/// graphql-transport-ws socket to `/graphql` whose `connection_init` payload is the tab's
/// `Authorization` header, then the tab's operation and variables (placeholders filled in).
/// Returns the socket, the subscription started (its events: [`Ws::payload`]).
async fn subscribe_example(app: &TestApp, example: &Example, values: &[(&str, &str)]) -> Ws {
    let fill = |text: &str| {
        values
            .iter()
            .fold(text.to_owned(), |text, (k, v)| text.replace(k, v))
    };
    let headers: Value = serde_json::from_str(&fill(example.headers)).unwrap();
    let authorization = headers["Authorization"].as_str().unwrap().to_owned();
    assert!(!authorization.contains('<'), "{authorization}");
    let variables: Value = serde_json::from_str(&fill(example.variables)).unwrap();
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    match ws.init(json!({ "Authorization": authorization })).await {
        Next::Message(m) => assert_eq!(m["type"], "connection_ack", "{m}"),
        other => panic!("{}: expected connection_ack, got {other:?}", example.file),
    }
    ws.subscribe("1", example.query, variables).await;
    ws
}

fn example(file: &str) -> &'static Example {
    EXAMPLES
        .iter()
        .find(|e| e.file == file)
        .unwrap_or_else(|| panic!("no example {file}"))
}

async fn graphiql_examples_run_as_the_scenario(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // Every file of assets/graphiql/examples/ is a tab, with one named operation (the tab's
    // title) and variables/headers that are JSON.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql/examples");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let embedded: BTreeSet<String> = EXAMPLES.iter().map(|e| e.file.to_owned()).collect();
    assert_eq!(on_disk, embedded, "assets/graphiql/examples/ vs EXAMPLES");
    for e in EXAMPLES {
        let doc = async_graphql::parser::parse_query(e.query).unwrap();
        let names: Vec<_> = doc.operations.iter().map(|(n, _)| n).collect();
        assert!(
            matches!(names.as_slice(), [Some(_)]),
            "{}: one named operation",
            e.file
        );
        for text in [e.variables, e.headers] {
            if !text.is_empty() {
                serde_json::from_str::<Value>(text).unwrap();
            }
        }
    }

    // The scenario, tab by tab, each as its tab sends it (placeholders filled in).
    let up = run_example(&app, example("1-sign-up.graphql"), &[]).await;
    let agent = up["signUp"]["token"].as_str().unwrap().to_owned();
    let project = up["signUp"]["project"]["id"].as_str().unwrap().to_owned();
    assert_eq!(up["signUp"]["role"], "OWNER");

    let signed_in = run_example(
        &app,
        example("2-sign-in-anonymously.graphql"),
        &[("<project id>", &project)],
    )
    .await;
    let visitor = signed_in["signInAnonymously"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let visitor_values = [("<visitor token>", visitor.as_str())];

    let created = run_example(&app, example("3-create-request.graphql"), &visitor_values).await;
    let contact = created["createRequest"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let captured = run_example(&app, example("4-capture-metadata.graphql"), &visitor_values).await;
    assert_eq!(captured["captureContactMetadata"]["id"], contact.as_str());

    let agent_values = [
        ("<agent token>", agent.as_str()),
        ("<contact id>", contact.as_str()),
    ];
    let found = run_example(&app, example("5-search-by-email.graphql"), &agent_values).await;
    assert_eq!(found["contacts"]["totalCount"], 1);
    assert_eq!(found["contacts"]["nodes"][0]["id"], contact.as_str());
    let detail = run_example(&app, example("6-contact-detail.graphql"), &agent_values).await;
    assert_eq!(detail["contact"]["requests"]["totalCount"], 1);

    let viewer = run_example(&app, example("7-viewer.graphql"), &visitor_values).await;
    assert_eq!(viewer["viewer"]["role"], "GUEST");
    assert_eq!(viewer["viewer"]["contact"]["fullname"], "Andrea Sponziello");

    // The live tab (a subscription, over a WebSocket as the page runs it): `after: "0"`
    // replays the scenario's events from the log, the visitor's contact created first.
    let live = example("8-contact-events.graphql");
    let doc = async_graphql::parser::parse_query(live.query).unwrap();
    assert!(
        doc.operations
            .iter()
            .all(|(_, op)| op.node.ty == async_graphql::parser::types::OperationType::Subscription),
        "{} is a subscription",
        live.file
    );
    let mut ws = subscribe_example(&app, live, &agent_values).await;
    let first = ws.payload().await;
    assert!(first.get("errors").is_none(), "{first:#}");
    let replayed = &first["data"]["contactEvents"];
    assert_eq!(replayed["kind"], "CREATED", "{first:#}");
    assert_eq!(replayed["contactId"], contact.as_str());
    let opened = ws.payload().await;
    assert_eq!(opened["data"]["contactEvents"]["kind"], "REQUEST_CREATED");
    assert_eq!(
        opened["data"]["contactEvents"]["requestId"],
        created["createRequest"]["request"]["id"]
    );
    ws.close().await;

    // Organising the contact: owner and note, company, typed attribute, segment, bulk job.
    let agent_id = up["signUp"]["user"]["id"].as_str().unwrap().to_owned();
    let organise = [
        ("<agent token>", agent.as_str()),
        ("<contact id>", contact.as_str()),
        ("<agent user id>", agent_id.as_str()),
    ];
    let assigned = run_example(&app, example("9-assign-and-note.graphql"), &organise).await;
    let owner = &assigned["assignContacts"]["results"][0]["contact"]["owner"];
    assert_eq!(owner["id"], agent_id.as_str());
    assert_eq!(
        assigned["addContactNote"]["author"]["id"],
        agent_id.as_str()
    );
    let company = run_example(&app, example("10-company.graphql"), &organise).await;
    assert_eq!(company["createCompany"]["domain"], "acme.io");
    let linked = &company["updateContacts"]["results"][0]["contact"]["company"];
    assert_eq!(
        (&linked["id"], &linked["contactsCount"]),
        (&company["createCompany"]["id"], &json!(1))
    );
    let defined = run_example(&app, example("11-typed-attribute.graphql"), &organise).await;
    assert_eq!(defined["defineContactAttribute"]["type"], "LIST");
    let segment = run_example(&app, example("12-segment.graphql"), &organise).await;
    assert_eq!(
        segment["saveSegment"]["contactsCount"], 1,
        "the visitor's plan is pro"
    );
    let segment_id = segment["saveSegment"]["id"].as_str().unwrap().to_owned();
    let tagged = run_example(
        &app,
        example("13-bulk-by-segment.graphql"),
        &[
            ("<agent token>", agent.as_str()),
            ("<segment id>", segment_id.as_str()),
        ],
    )
    .await;
    assert_eq!(tagged["addTagsToContacts"]["matchedCount"], 1);
    let job_id = tagged["addTagsToContacts"]["job"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job_values = [
        ("<agent token>", agent.as_str()),
        ("<job id>", job_id.as_str()),
    ];
    let mut job = Value::Null;
    for _ in 0..200 {
        job = run_example(&app, example("14-bulk-job.graphql"), &job_values).await;
        if job["bulkJob"]["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(job["bulkJob"]["status"], "COMPLETED", "{job:#}");
    assert_eq!(job["bulkJob"]["succeeded"], 1);
}
db_test!(graphiql_examples_run_as_the_scenario);

/// The page needs no database: SQLite only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_page_and_assets_are_self_hosted() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let page = |accept: &'static str| {
        client
            .get(format!("{}/graphql", app.base))
            .header("accept", accept)
            .send()
    };
    let resp = page("text/html").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self';",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = resp.text().await.unwrap();

    // A fresh style nonce per response, the one on the page's script tag.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(nonce.len(), 32);
    assert!(html.contains(&format!("nonce=\"{nonce}\"")));
    let again = page("*/*").await.unwrap();
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&nonce)
    );

    // Nothing from another host; no inline script; the example tabs embedded as JSON data.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//unpkg"));
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 6, "{html}");
    let data = scripts
        .iter()
        .find(|s| s.contains("type=\"application/json\""))
        .unwrap();
    let tabs: Value = serde_json::from_str(
        data.split_once('>')
            .unwrap()
            .1
            .split_once("</script>")
            .unwrap()
            .0,
    )
    .unwrap();
    assert_eq!(tabs.as_array().unwrap().len(), EXAMPLES.len());
    for (tab, e) in tabs.as_array().unwrap().iter().zip(EXAMPLES) {
        assert_eq!(tab["query"], e.query);
        assert_eq!(tab["variables"], e.variables);
        assert_eq!(tab["headers"], e.headers);
    }
    for s in scripts.iter().filter(|s| !s.contains("application/json")) {
        assert!(
            s.trim_start().starts_with("src=\""),
            "an external script: {s}"
        );
        assert!(s.split_once('>').unwrap().1.starts_with("</script>"));
    }

    // Every asset the page names is served from this build, with its type, cached for good.
    let base = assets_base();
    let mut urls: Vec<&str> = html.split(['"']).filter(|s| s.starts_with(&base)).collect();
    urls.sort_unstable();
    assert_eq!(urls.len(), 7, "{urls:?}");
    for url in urls {
        let file = url.rsplit('/').next().unwrap();
        let resp = client
            .get(format!("{}{url}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let expected_type = if file.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(resp.headers()["content-type"], expected_type, "{url}");
        assert_eq!(
            resp.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let on_disk = std::fs::read(format!(
            "{}/assets/graphiql/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(resp.bytes().await.unwrap().as_ref(), on_disk, "{url}");
    }
    // Another version (a stale page) or an unknown file: 404.
    for url in [
        "/graphiql/assets/0000000000000000/graphiql.min.js".to_owned(),
        format!("{base}/vendor.sh"),
        format!("{base}/..%2Fgraphiql.min.js"),
    ] {
        let resp = client
            .get(format!("{}{url}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{url}");
    }
}
