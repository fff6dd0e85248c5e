//! Races: concurrent first requests of one visitor give one contact.

use futures::future::join_all;
use serde_json::json;

use crate::common::{Backend, TestApp, db_test};

async fn concurrent_first_requests_create_one_contact(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    for round in 0..3 {
        let (visitor, user_id) = app.visitor(&project).await;
        let results = join_all((0..6).map(|i| {
            let app = &app;
            let visitor = visitor.clone();
            async move {
                if i % 2 == 0 {
                    app.create_request(&visitor, &format!("race {round}-{i}"))
                        .await["contact"]["id"]
                        .clone()
                } else {
                    let body = app
                        .capture(&visitor, json!({ "attributes": { format!("k{i}"): i } }))
                        .await;
                    assert!(body.get("errors").is_none(), "{body:#}");
                    body["data"]["captureContactMetadata"]["id"].clone()
                }
            }
        }))
        .await;
        assert!(
            results.iter().all(|id| id == &results[0]),
            "one contact: {results:?}"
        );
        let found = app
            .ok(Some(&agent), "query($id: ID!) { contact(id: $id) { leadId attributes requests { totalCount } } }", json!({ "id": results[0] }))
            .await;
        assert_eq!(found["contact"]["leadId"], user_id);
        assert_eq!(found["contact"]["requests"]["totalCount"], 3);
        // Every concurrent attribute capture survived (no lost update).
        assert_eq!(
            found["contact"]["attributes"],
            json!({ "k1": 1, "k3": 3, "k5": 5 })
        );
    }
    assert_eq!(app.count_rows("lead").await, 3);
    assert_eq!(app.count_rows("request").await, 9);
}
db_test!(concurrent_first_requests_create_one_contact);
