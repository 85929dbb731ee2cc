//! Every list takes `limit` (1–1,000) and `cursor`, and a cursor is only
//! ever one the server gave for that list.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app_with};

/// Creates five of everything that is listed (six webhooks); the id of the
/// trigger that was called five times.
async fn five_of_each(app: &TestApp) -> String {
    // The objects' events make the deliveries.
    app.create_webhook_id(
        json!({"name": "Units", "url": "http://127.0.0.1:9/units", "events": ["unit.*"]}),
    )
    .await;
    let mut trigger = String::new();
    for n in 0..5 {
        app.create_webhook_id(json!({
            "name": format!("Hook {n}"),
            "url": "http://127.0.0.1:9/in",
            "events": ["ticket.created"],
        }))
        .await;
        let created = app
            .admin(
                Method::POST,
                "/api/triggers",
                Some(json!({"name": format!("Trigger {n}")})),
            )
            .await;
        assert_eq!(created.status(), 201);
        trigger = created.json::<Value>().await.unwrap()["data"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        if n < 4 {
            let user = json!({"username": format!("user{n}"), "password": "long-enough-pw", "role": "viewer"});
            let created = app.admin(Method::POST, "/api/users", Some(user)).await;
            assert_eq!(created.status(), 201);
        }
        let object = app
            .admin(Method::POST, "/api/objects/unit", Some(json!({"n": n})))
            .await;
        assert_eq!(object.status(), 201);
    }
    let hook_url = app.admin_json(&format!("/api/triggers/{trigger}")).await["data"]["hook_url"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 0..5 {
        let call = app.client.post(&hook_url).json(&json!({"n": n})).send();
        assert_eq!(call.await.unwrap().status(), 202);
    }
    trigger
}

/// Every list, each with five items.
fn lists(trigger: &str) -> Vec<String> {
    vec![
        "/api/webhooks".into(),
        "/api/triggers".into(),
        "/api/users".into(),
        format!("/api/triggers/{trigger}/calls"),
        "/api/objects/unit".into(),
        "/api/deliveries".into(),
        "/api/deliveries/webhooks".into(),
    ]
}

fn with(path: &str, query: &str) -> String {
    let joiner = if path.contains('?') { '&' } else { '?' };
    format!("{path}{joiner}{query}")
}

fn ids(page: &Value) -> Vec<Value> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            // A trigger call has no id: its time and outcome stand in.
            item.get("id")
                .cloned()
                .unwrap_or_else(|| json!([item["called_at"], item["event_id"]]))
        })
        .collect()
}

#[tokio::test]
async fn every_list_comes_in_pages_that_add_up_to_the_whole() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let trigger = five_of_each(&app).await;
    for list in lists(&trigger) {
        let whole = app.admin_json(&with(&list, "limit=1000")).await;
        assert_eq!(whole["next_cursor"], Value::Null, "{list}");
        let whole = ids(&whole);
        assert!(whole.len() >= 5, "{list}: {whole:?}");

        let mut paged = Vec::new();
        let mut pages = 0;
        let mut path = with(&list, "limit=2");
        loop {
            let page = app.admin_json(&path).await;
            pages += 1;
            let items = ids(&page);
            assert!(!items.is_empty(), "{list}: an empty page");
            assert!(items.len() <= 2, "{list}: {items:?}");
            paged.extend(items);
            match page["next_cursor"].as_str() {
                Some(cursor) => path = with(&list, &format!("limit=2&cursor={cursor}")),
                None => break,
            }
        }
        assert_eq!(paged, whole, "{list}: the pages differ from the whole");
        assert_eq!(pages, whole.len().div_ceil(2), "{list}");
    }
}

#[tokio::test]
async fn a_cursor_the_server_did_not_give_for_that_list_is_refused() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let trigger = five_of_each(&app).await;
    let webhooks = app.admin_json("/api/webhooks?limit=1").await;
    let webhook_cursor = webhooks["next_cursor"].as_str().unwrap().to_string();
    let first_id = webhooks["data"][0]["id"].as_str().unwrap().to_string();
    for list in lists(&trigger) {
        for (query, field) in [
            ("cursor=garbage".to_string(), "cursor"),
            (format!("cursor={first_id}"), "cursor"),
            ("cursor=dlv_0190a0b0c0d0e0f0".to_string(), "cursor"),
            ("limit=0".to_string(), "limit"),
            ("limit=1001".to_string(), "limit"),
        ] {
            let path = with(&list, &query);
            let refused = app.admin(Method::GET, &path, None).await;
            let error = assert_error(refused, 422, "validation_failed").await;
            assert!(error["fields"][field].is_string(), "{path}: {error}");
        }
        if list != "/api/webhooks" {
            let path = with(&list, &format!("cursor={webhook_cursor}"));
            let refused = app.admin(Method::GET, &path, None).await;
            assert_error(refused, 422, "validation_failed").await;
        }
        let most = app
            .admin(Method::GET, &with(&list, "limit=1000"), None)
            .await;
        assert_eq!(most.status(), 200, "{list}");
    }
    // A cursor altered by one character does not open either.
    let mut altered = webhook_cursor.into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let path = format!(
        "/api/webhooks?cursor={}",
        String::from_utf8(altered).unwrap()
    );
    let refused = app.admin(Method::GET, &path, None).await;
    assert_error(refused, 422, "validation_failed").await;
}

#[tokio::test]
async fn trigger_calls_are_filtered_by_outcome() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let trigger = five_of_each(&app).await;
    let path = format!("/api/triggers/{trigger}/calls");
    let accepted = app.admin_json(&with(&path, "outcome=accepted")).await;
    assert_eq!(accepted["data"].as_array().unwrap().len(), 5);
    let refused = app.admin_json(&with(&path, "outcome=unauthorized")).await;
    assert_eq!(refused["data"], json!([]));
    let bad = app
        .admin(Method::GET, &with(&path, "outcome=maybe"), None)
        .await;
    let error = assert_error(bad, 422, "validation_failed").await;
    assert!(error["fields"]["outcome"].is_string());
}
