use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, created_id, spawn_app_with, wait_for, wait_until};
use crate::receiver::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(10);

async fn app() -> TestApp {
    spawn_app_with(&["--allow-private-targets", "--retry-schedule=200ms"]).await
}

async fn get(app: &TestApp, path: &str) -> Value {
    let response = app.admin(Method::GET, path, None).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// Polls `GET /api/deliveries/{id}` until it has `status`.
async fn settled(app: &TestApp, id: &str, status: &str) -> Value {
    wait_for(&format!("{id} {status}"), WAIT, async || {
        let delivery = get(app, &format!("/api/deliveries/{id}")).await["data"].clone();
        (delivery["status"] == status).then_some(delivery)
    })
    .await
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_and_filtered() {
    let app = app().await;
    let up = Receiver::start().await;
    let down = Receiver::answering(Reply::status(500)).await;
    let a = app
        .create_webhook(json!({"name": "up", "url": up.url, "events": ["*"]}))
        .await;
    let b = app
        .create_webhook(json!({"name": "down", "url": down.url, "events": ["order.*"]}))
        .await;
    let order = app.publish("order.create", json!({"n": 1})).await;
    app.publish("user.create", json!({"n": 2})).await;
    up.wait_for(2, WAIT).await;
    down.wait_for(2, WAIT).await;

    let all = get(&app, "/api/deliveries").await;
    let listed = all["data"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["event_type"], "user.create");
    assert!(
        listed
            .windows(2)
            .all(|w| w[0]["created_at"].as_str() >= w[1]["created_at"].as_str())
    );

    let b_id = b["id"].as_str().unwrap();
    let for_b = get(&app, &format!("/api/deliveries?webhook_id={b_id}")).await;
    assert_eq!(for_b["data"].as_array().unwrap().len(), 1);
    let failing = settled(&app, ids(&for_b)[0].as_str(), "failed").await;
    assert_eq!(failing["attempt_count"], 2);
    assert_eq!(failing["last_status_code"], 500);
    assert_eq!(failing["last_error"], "HTTP 500");
    assert_eq!(failing["webhook_name"], "down");

    let failed = get(&app, "/api/deliveries?status=failed").await;
    assert_eq!(ids(&failed), ids(&for_b));
    // Succeeded ones are not in the status indexes (docs/decisions.md, View
    // Logs): the filter finds them all the same, alone and with a webhook.
    let a_id = a["id"].as_str().unwrap();
    let for_a = get(&app, &format!("/api/deliveries?webhook_id={a_id}")).await;
    for id in ids(&for_a) {
        settled(&app, id.as_str(), "succeeded").await;
    }
    let succeeded = get(&app, "/api/deliveries?status=succeeded").await;
    assert_eq!(ids(&succeeded), ids(&for_a));
    assert_eq!(ids(&succeeded).len(), 2);
    let none = get(
        &app,
        &format!("/api/deliveries?webhook_id={b_id}&status=succeeded"),
    )
    .await;
    assert!(ids(&none).is_empty());
    let b_failed = get(
        &app,
        &format!("/api/deliveries?webhook_id={b_id}&status=failed"),
    )
    .await;
    assert_eq!(ids(&b_failed), ids(&for_b));
    let users = get(&app, "/api/deliveries?event_type=user.create").await;
    assert_eq!(users["data"][0]["webhook_id"], a["id"]);
    assert_eq!(users["data"][0]["webhook_name"], "up");
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
    // the event-type filter takes the patterns webhooks subscribe with
    let orders = get(&app, "/api/deliveries?event_type=order.*").await;
    assert_eq!(orders["data"].as_array().unwrap().len(), 2);
    assert!(
        orders["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["event_type"] == "order.create")
    );
    let every = get(&app, "/api/deliveries?event_type=*").await;
    assert_eq!(every["data"].as_array().unwrap().len(), 3);
    // an event id finds every delivery of that event, whatever its webhook
    let event_id = order["id"].as_str().unwrap();
    let of_order = get(&app, &format!("/api/deliveries?search={event_id}")).await;
    let mut went_to: Vec<_> = of_order["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["event_id"].as_str().unwrap(),
                d["webhook_name"].as_str().unwrap(),
            )
        })
        .collect();
    went_to.sort();
    assert_eq!(went_to, [(event_id, "down"), (event_id, "up")]);
    let bad = app
        .admin(Method::GET, "/api/deliveries?event_type=order.%2A.x", None)
        .await;
    let error = assert_error(bad, 422, "validation_failed").await;
    assert!(error["fields"]["event_type"].is_string());

    let bad = app
        .admin(Method::GET, "/api/deliveries?status=lost", None)
        .await;
    assert_error(bad, 422, "validation_failed").await;
    let bad = app
        .admin(Method::GET, "/api/deliveries?since=yesterday", None)
        .await;
    assert_error(bad, 422, "validation_failed").await;
}

#[tokio::test]
async fn pages_neither_skip_nor_repeat_while_new_deliveries_arrive() {
    let app = app().await;
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"name": "r", "url": receiver.url, "events": ["*"]}))
        .await;
    let batch: Vec<Value> = (0..25)
        .map(|n| json!({"type": "page.item", "data": n}))
        .collect();
    app.admin(Method::POST, "/api/events", Some(json!({"events": batch})))
        .await;

    let mut seen = Vec::new();
    let mut page = get(&app, "/api/deliveries?limit=10").await;
    loop {
        seen.extend(ids(&page));
        // newer deliveries arrive between pages
        app.publish("page.late", json!({})).await;
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        page = get(&app, &format!("/api/deliveries?limit=10&cursor={cursor}")).await;
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);
    assert_eq!(
        get(&app, "/api/deliveries?limit=500").await["data"]
            .as_array()
            .unwrap()
            .len(),
        25 + 3
    );
}

#[tokio::test]
async fn a_delivery_shows_every_attempt_with_credentials_masked() {
    let app = app().await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(503)]);
    app.create_webhook(json!({
        "name": "r", "url": receiver.url, "events": ["*"],
        "auth": {"type": "basic", "username": "u", "password": "hidden-pass"}
    }))
    .await;
    app.publish("order.create", json!({"total": 12})).await;
    receiver.wait_for(2, WAIT).await;
    let id = ids(&get(&app, "/api/deliveries").await)[0].clone();
    let delivery = settled(&app, &id, "succeeded").await;
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["status"], "failed");
    assert_eq!(attempts[0]["error_class"], "http-status");
    assert_eq!(attempts[0]["response"]["status_code"], 503);
    assert_eq!(attempts[1]["status"], "succeeded");
    assert_eq!(attempts[1]["response"]["body"], "thanks");
    assert_eq!(
        attempts[1]["request"]["headers"]["authorization"],
        "Basic ***"
    );
    assert_eq!(attempts[1]["request"]["headers"]["webhook-id"], id);
    let body: Value =
        serde_json::from_str(attempts[1]["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["data"], json!({"total": 12}));
    assert!(!delivery.to_string().contains("hidden-pass"));
    assert!(
        !delivery.to_string().contains("dTpoaWRkZW4tcGFzcw"),
        "base64 credentials leaked"
    );

    let missing = app
        .admin(Method::GET, "/api/deliveries/dlv_missing", None)
        .await;
    assert_error(missing, 404, "not_found").await;
}

#[tokio::test]
async fn redeliver_sends_one_more_attempt_with_the_same_webhook_id() {
    let app = app().await;
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"name": "r", "url": receiver.url, "events": ["*"]}))
        .await;
    app.publish("order.create", json!({})).await;
    let first = receiver.wait_for(1, WAIT).await[0].clone();
    let id = ids(&get(&app, "/api/deliveries").await)[0].clone();
    settled(&app, &id, "succeeded").await;

    receiver.script([Reply::status(500)]);
    let response = app
        .admin(
            Method::POST,
            &format!("/api/deliveries/{id}/redeliver"),
            None,
        )
        .await;
    assert_eq!(response.status(), 202);
    let second = receiver.wait_for(2, WAIT).await[1].clone();
    assert_eq!(second.header("webhook-id"), first.header("webhook-id"));
    let delivery = settled(&app, &id, "failed").await;
    // one attempt, not the whole schedule again
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 2);
    // failed for good: nothing more is due
    assert_eq!(receiver.received().len(), 2);

    let missing = app
        .admin(Method::POST, "/api/deliveries/dlv_missing/redeliver", None)
        .await;
    assert_error(missing, 404, "not_found").await;
}

#[tokio::test]
async fn redeliver_is_refused_while_an_attempt_is_in_flight() {
    let app = app().await;
    let receiver = Receiver::answering(Reply::ok().after(Duration::from_secs(3))).await;
    app.create_webhook(json!({"name": "r", "url": receiver.url, "events": ["*"]}))
        .await;
    app.publish("order.create", json!({})).await;
    receiver.wait_for(1, WAIT).await;
    let id = ids(&get(&app, "/api/deliveries").await)[0].clone();
    let response = app
        .admin(
            Method::POST,
            &format!("/api/deliveries/{id}/redeliver"),
            None,
        )
        .await;
    assert_error(response, 409, "conflict").await;
}

#[tokio::test]
async fn health_and_the_chart_count_recent_attempts() {
    let app = app().await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let webhook = app
        .create_webhook(json!({"name": "r", "url": receiver.url, "events": ["*"]}))
        .await;
    let id = webhook["id"].as_str().unwrap();
    assert_eq!(webhook["health"]["success_rate"], Value::Null);
    assert_eq!(webhook["health"]["state"], "never_called");
    assert_eq!(webhook["health"]["last_attempt_at"], Value::Null);
    app.publish("order.create", json!({})).await;
    receiver.wait_for(2, WAIT).await;
    let delivery = ids(&get(&app, "/api/deliveries").await)[0].clone();
    settled(&app, &delivery, "succeeded").await;

    let health = app.webhook(id).await["health"].clone();
    assert_eq!(health["success_rate"], 0.5);
    assert_eq!(health["state"], "healthy");
    assert_eq!(health["last_error"], Value::Null, "a success clears it");
    assert!(
        health["last_attempt_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let stats = get(
        &app,
        &format!("/api/deliveries/stats?webhook_id={id}&window=1h"),
    )
    .await["data"]
        .clone();
    assert_eq!(stats["bucket_seconds"], 150);
    let buckets = stats["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 24);
    let total = |key: &str| {
        buckets
            .iter()
            .map(|b| b[key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!((total("succeeded"), total("failed")), (1, 1));
    let other = get(&app, "/api/deliveries/stats?webhook_id=wh_other").await["data"].clone();
    assert!(
        other["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["succeeded"] == 0 && b["failed"] == 0)
    );
    let bad = app
        .admin(Method::GET, "/api/deliveries/stats?window=forever", None)
        .await;
    assert_error(bad, 422, "validation_failed").await;
}

#[tokio::test]
async fn recover_queues_again_what_failed_in_the_window() {
    let app = app().await;
    let receiver = Receiver::answering(Reply::status(500)).await;
    let webhook = app
        .create_webhook(json!({"name": "r", "url": receiver.url, "events": ["*"]}))
        .await;
    let id = webhook["id"].as_str().unwrap();
    let before = "2020-01-01T00:00:00Z";
    for n in 0..3 {
        app.publish("order.create", json!({"n": n})).await;
    }
    receiver.wait_for(6, WAIT).await;
    for delivery in ids(&get(&app, "/api/deliveries").await) {
        settled(&app, &delivery, "failed").await;
    }
    receiver.answer(Reply::ok());
    let path = format!("/api/webhooks/{id}/recover");

    let empty = app
        .admin(
            Method::POST,
            &path,
            Some(json!({"since": before, "until": "2021-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(empty.status(), 202);
    assert_eq!(empty.json::<Value>().await.unwrap()["data"]["queued"], 0);
    let backwards = app
        .admin(
            Method::POST,
            &path,
            Some(json!({"since": "2021-01-01T00:00:00Z", "until": before})),
        )
        .await;
    assert_error(backwards, 422, "validation_failed").await;
    assert_error(
        app.admin(Method::POST, &path, Some(json!({}))).await,
        422,
        "validation_failed",
    )
    .await;

    let response = app
        .admin(Method::POST, &path, Some(json!({"since": before})))
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap()["data"]["queued"], 3);
    receiver.wait_for(9, WAIT).await;
    for delivery in ids(&get(&app, "/api/deliveries").await) {
        settled(&app, &delivery, "succeeded").await;
    }
    let missing = app
        .admin(
            Method::POST,
            "/api/webhooks/wh_missing/recover",
            Some(json!({"since": before})),
        )
        .await;
    assert_error(missing, 404, "not_found").await;
}

#[tokio::test]
async fn old_logs_are_pruned_and_old_payloads_dropped_but_pending_deliveries_stay() {
    let app = spawn_app_with(&[
        "--allow-private-targets",
        "--retry-schedule=1h",
        "--payload-retention=300ms",
        "--retention=1500ms",
    ])
    .await;
    let up = Receiver::start().await;
    let down = Receiver::answering(Reply::status(503)).await;
    let up_id = app
        .create_webhook(json!({"name": "up", "url": up.url, "events": ["*"]}))
        .await["id"]
        .clone();
    let down_id = app
        .create_webhook(json!({"name": "down", "url": down.url, "events": ["*"]}))
        .await["id"]
        .clone();
    app.publish("order.create", json!({"secret_sauce": "ketchup"}))
        .await;
    up.wait_for(1, WAIT).await;
    down.wait_for(1, WAIT).await;
    let only =
        |webhook: &Value| format!("/api/deliveries?webhook_id={}", webhook.as_str().unwrap());
    let delivered = ids(&get(&app, &only(&up_id)).await)[0].clone();
    let retrying = ids(&get(&app, &only(&down_id)).await)[0].clone();
    settled(&app, &delivered, "succeeded").await;
    settled(&app, &retrying, "retrying").await;

    // first the payload goes, the attempt stays
    let path = format!("/api/deliveries/{delivered}");
    let attempt = wait_for("the payload dropped", WAIT, async || {
        let attempt = get(&app, &path).await["data"]["attempts"][0].clone();
        (attempt["request"]["body"] == "").then_some(attempt)
    })
    .await;
    assert_eq!(attempt["response"]["status_code"], 200);
    // then the whole delivery, but not the one still retrying
    wait_until("the delivery pruned", WAIT, async || {
        app.admin(Method::GET, &path, None).await.status() == 404
    })
    .await;
    let kept = get(&app, &format!("/api/deliveries/{retrying}")).await["data"].clone();
    assert_eq!(kept["status"], "retrying");
    assert!(
        kept["attempts"][0]["request"]["body"]
            .as_str()
            .unwrap()
            .contains("ketchup")
    );
}

#[tokio::test]
async fn bad_query_and_path_values_get_the_error_shape_naming_the_parameter() {
    let app = spawn_app_with(&[]).await;
    for (path, parameter) in [
        ("/api/deliveries?limit=abc", "limit"),
        ("/api/deliveries?limit=-1", "limit"),
        ("/api/deliveries?limit=99999999999", "limit"),
        ("/api/objects/ticket?limit=many", "limit"),
    ] {
        let response = app.admin(Method::GET, path, None).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"][parameter].is_string(), "{path}: {error}");
    }
    // Bytes that are not UTF-8 where an id belongs.
    let response = app.admin(Method::GET, "/api/webhooks/%FF%FE", None).await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(error["fields"]["id"].is_string(), "{error}");
}

#[tokio::test]
async fn search_finds_an_event_by_its_id_an_object_by_its_id_and_events_by_their_words() {
    let app = app().await;
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"name": "all", "url": receiver.url, "events": ["*"]}))
        .await;
    let shipped = app
        .publish(
            "order.update",
            json!({"note": "Shipped to Zanzibar by sea", "n": 4711}),
        )
        .await;
    app.publish("order.update", json!({"note": "shipped by air", "n": 4712}))
        .await;
    let created = app
        .admin(
            Method::POST,
            "/api/objects/ticket",
            Some(json!({"title": "printer on fire"})),
        )
        .await;
    let ticket = created_id(created).await;
    receiver.wait_for(3, WAIT).await;

    let found = async |search: &str| -> Vec<String> {
        let path = format!("/api/deliveries?search={}", urlencode(search));
        get(&app, &path).await["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["event_type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        found("zanzibar").await,
        ["order.update"],
        "a word, in any case"
    );
    assert_eq!(found("SHIPPED sea").await, ["order.update"], "every word");
    assert_eq!(found("shipped").await.len(), 2);
    assert_eq!(found("shipped rail").await.len(), 0);
    assert_eq!(
        found(shipped["id"].as_str().unwrap()).await,
        ["order.update"]
    );
    assert_eq!(found(&ticket).await, ["ticket.create"], "an object's id");
    assert_eq!(
        found("\"quoted\" ( OR").await.len(),
        0,
        "the text is words, not a query language"
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
