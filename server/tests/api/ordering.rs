//! Ordering keys (SPEC.md "Ordering"): a webhook receives the events of one
//! key one at a time, in the order they were accepted, retries included,
//! while other keys and unkeyed events go at their own pace.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, created_id, spawn_app_with, wait_for, wait_until};
use crate::receiver::{Received, Receiver, Reply};

const WITHIN: Duration = Duration::from_secs(20);

/// An app whose one webhook takes `ticket.*` to `receiver`, retrying as `schedule` says.
async fn app_to(receiver: &Receiver, schedule: &[&str]) -> (TestApp, String) {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let webhook = app
        .create_webhook_id(json!({
            "name": "tickets", "url": receiver.url, "events": ["ticket.*"],
            "retry_schedule": schedule,
        }))
        .await;
    (app, webhook)
}

/// Publishes `body`; returns the answer's `data`.
async fn publish(app: &TestApp, body: Value) -> Value {
    let response = app.admin(Method::POST, "/api/events", Some(body)).await;
    assert_eq!(response.status(), 202);
    response.json::<Value>().await.unwrap()["data"].clone()
}

/// A `ticket.update` numbered `n` with `key`.
fn numbered(n: u64, key: &str) -> Value {
    json!({"type": "ticket.update", "data": {"n": n}, "ordering_key": key})
}

/// The numbers of the events that arrived, in the order they did.
fn arrived(received: &[Received]) -> Vec<u64> {
    received
        .iter()
        .map(|r| r.json()["data"]["n"].as_u64().unwrap())
        .collect()
}

/// The delivery of the event `event_id`.
async fn delivery_of(app: &TestApp, event_id: &Value) -> Value {
    let page = app
        .admin_json(&format!(
            "/api/deliveries?search={}",
            event_id.as_str().unwrap()
        ))
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1, "{page}");
    page["data"][0].clone()
}

#[tokio::test]
async fn one_keys_events_arrive_in_order_after_a_retry_while_another_key_overtakes() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    // Long enough that the state below is read well before the retry.
    let (app, _) = app_to(&receiver, &["3s"]).await;
    let mut events = Vec::new();
    for n in 1..=3 {
        events.push(publish(&app, numbered(n, "ticket/42")).await["id"].clone());
    }
    assert_eq!(arrived(&receiver.wait_for(1, WITHIN).await), [1]);

    publish(&app, numbered(4, "ticket/7")).await;
    assert_eq!(arrived(&receiver.wait_for(2, WITHIN).await), [1, 4]);

    // Its failure is recorded a moment after the receiver answered.
    let first = wait_for("the first retrying", WITHIN, async || {
        let first = delivery_of(&app, &events[0]).await;
        (first["status"] == "retrying").then_some(first)
    })
    .await;
    assert_eq!(first["ordering_key"], "ticket/42");
    assert!(first.get("waits_for").is_none(), "{first}");
    for event in &events[1..] {
        let waiting = delivery_of(&app, event).await;
        assert_eq!(waiting["status"], "pending");
        assert_eq!(waiting["ordering_key"], "ticket/42");
        assert_eq!(
            waiting["next_attempt_at"],
            Value::Null,
            "not due: {waiting}"
        );
        assert_eq!(waiting["waits_for"], first["id"], "{waiting}");
    }

    let received = receiver.wait_for(5, WITHIN).await;
    assert_eq!(arrived(&received), [1, 4, 1, 2, 3]);
    app.settled().await;
    assert_eq!(receiver.count(), 5);
    let last = delivery_of(&app, &events[2]).await;
    assert_eq!(last["status"], "succeeded");
    assert!(last.get("waits_for").is_none(), "{last}");
}

#[tokio::test]
async fn an_objects_create_and_updates_arrive_in_order_after_a_failed_first_attempt() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let (app, _) = app_to(&receiver, &["1s"]).await;
    let created = app
        .admin(
            Method::POST,
            "/api/objects/ticket",
            Some(json!({"status": "new"})),
        )
        .await;
    let id = created_id(created).await;
    for status in ["open", "closed"] {
        let path = format!("/api/objects/ticket/{id}");
        let patched = app
            .admin(Method::PATCH, &path, Some(json!({"status": status})))
            .await;
        assert_eq!(patched.status(), 200);
    }

    let received = receiver.wait_for(4, WITHIN).await;
    let seen: Vec<(String, String)> = received
        .iter()
        .map(|r| {
            let body = r.json();
            let status = body["data"]["status"].as_str().unwrap().to_string();
            (body["type"].as_str().unwrap().to_string(), status)
        })
        .collect();
    let expected = [
        ("ticket.create", "new"),
        ("ticket.create", "new"),
        ("ticket.update", "open"),
        ("ticket.update", "closed"),
    ];
    assert_eq!(
        seen,
        expected.map(|(t, s)| (t.to_string(), s.to_string())),
        "the create's retry first, then the updates in order"
    );
    app.settled().await;
    assert_eq!(receiver.count(), 4);
    let page = app.admin_json("/api/deliveries").await;
    for delivery in page["data"].as_array().unwrap() {
        assert_eq!(delivery["ordering_key"], format!("ticket/{id}"));
    }
}

#[tokio::test]
async fn a_keys_deliveries_paused_by_a_switch_off_go_out_in_order_when_it_is_back() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(410)]);
    let (app, webhook) = app_to(&receiver, &["1s"]).await;
    let batch: Vec<Value> = (1..=5).map(|n| numbered(n, "ticket/9")).collect();
    let accepted = publish(&app, json!({"events": batch})).await;
    assert_eq!(arrived(&receiver.wait_for(1, WITHIN).await), [1]);
    wait_until("the webhook switched off", WITHIN, async || {
        app.webhook(&webhook).await["active"] == false
    })
    .await;
    for entry in &accepted.as_array().unwrap()[1..] {
        let delivery = delivery_of(&app, &entry["id"]).await;
        assert_eq!(delivery["status"], "paused", "{delivery}");
    }

    let response = app
        .admin(
            Method::PATCH,
            &format!("/api/webhooks/{webhook}"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(response.status(), 204);
    let received = receiver.wait_for(5, WITHIN).await;
    assert_eq!(arrived(&received), [1, 2, 3, 4, 5]);
    app.settled().await;
    assert_eq!(receiver.count(), 5);
    let first = delivery_of(&app, &accepted[0]["id"]).await;
    assert_eq!(first["status"], "failed", "410 ends it");
}

#[tokio::test]
async fn a_waiting_delivery_redelivered_by_hand_goes_at_once() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let (app, _) = app_to(&receiver, &["3s"]).await;
    let first = publish(&app, numbered(1, "ticket/5")).await;
    let second = publish(&app, numbered(2, "ticket/5")).await;
    receiver.wait_for(1, WITHIN).await;
    let waiting = delivery_of(&app, &second["id"]).await;
    assert_eq!(
        waiting["waits_for"],
        delivery_of(&app, &first["id"]).await["id"]
    );

    let path = format!(
        "/api/deliveries/{}/redeliver",
        waiting["id"].as_str().unwrap()
    );
    assert_eq!(app.admin(Method::POST, &path, None).await.status(), 202);
    assert_eq!(arrived(&receiver.wait_for(2, WITHIN).await), [1, 2]);
    assert_eq!(arrived(&receiver.wait_for(3, WITHIN).await), [1, 2, 1]);
    app.settled().await;
    assert_eq!(
        receiver.count(),
        3,
        "the redelivered one is not sent again in its turn"
    );
}

#[tokio::test]
async fn unkeyed_events_and_other_keys_are_not_held_back() {
    let receiver = Receiver::start().await;
    receiver.answer(Reply::status(500));
    let (app, _) = app_to(&receiver, &["1h"]).await;
    publish(&app, numbered(1, "stuck")).await;
    publish(&app, numbered(2, "stuck")).await;
    receiver.wait_for(1, WITHIN).await;
    receiver.answer(Reply::ok());
    let batch: Vec<Value> = (3..=12)
        .map(|n| match n % 2 {
            0 => json!({"type": "ticket.update", "data": {"n": n}}),
            _ => numbered(n, &format!("free/{n}")),
        })
        .collect();
    publish(&app, json!({"events": batch})).await;
    let received = receiver.wait_for(11, WITHIN).await;
    let mut numbers = arrived(&received);
    numbers.sort();
    assert_eq!(numbers, [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
}

#[tokio::test]
async fn an_ordering_key_must_be_1_to_200_printable_characters() {
    let receiver = Receiver::start().await;
    let (app, _) = app_to(&receiver, &["1s"]).await;
    let empty = json!({"type": "ticket.update", "data": {}, "ordering_key": ""});
    let response = app.admin(Method::POST, "/api/events", Some(empty)).await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(error["fields"]["ordering_key"].is_string(), "{error}");

    let long = "k".repeat(201);
    let batch = json!({"events": [numbered(1, "fine"), numbered(2, &long)]});
    let response = app.admin(Method::POST, "/api/events", Some(batch)).await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(
        error["fields"]["events[1].ordering_key"].is_string(),
        "{error}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events").await,
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn a_keys_events_fanned_out_after_their_publication_keep_their_order() {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    const WEBHOOKS: usize = 60;
    for w in 0..WEBHOOKS {
        let url = format!("{}/w{w}", receiver.url);
        app.create_webhook(json!({"name": format!("w{w}"), "url": url, "events": ["ticket.*"]}))
            .await;
    }
    // 6,000 deliveries: more than one transaction writes, so the batch's
    // later events are fanned out after it; the event published next waits
    // behind them.
    let batch: Vec<Value> = (0..100).map(|n| numbered(n, "ticket/1")).collect();
    publish(&app, json!({"events": batch})).await;
    publish(&app, numbered(100, "ticket/1")).await;

    let received = receiver
        .wait_for(WEBHOOKS * 101, Duration::from_secs(60))
        .await;
    for w in 0..WEBHOOKS {
        let path = format!("/w{w}");
        let mine: Vec<Received> = received
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect();
        assert_eq!(arrived(&mine), (0..=100).collect::<Vec<u64>>(), "{path}");
    }
    app.settled().await;
    assert_eq!(receiver.count(), WEBHOOKS * 101);
}

#[tokio::test]
async fn retention_keeps_deliveries_waiting_for_their_turn_and_forgets_keys_done_with() {
    let app = spawn_app_with(&[
        "--allow-private-targets",
        "--retry-schedule=1h",
        "--retention=1500ms",
    ])
    .await;
    let up = Receiver::start().await;
    let down = Receiver::answering(Reply::status(503)).await;
    app.create_webhook(json!({"name": "up", "url": up.url, "events": ["done.*"]}))
        .await;
    app.create_webhook(json!({"name": "down", "url": down.url, "events": ["ticket.*"]}))
        .await;
    let first = publish(&app, numbered(1, "ticket/1")).await;
    let second = publish(&app, numbered(2, "ticket/1")).await;
    let done = json!({"type": "done.it", "data": {}, "ordering_key": "done/1"});
    publish(&app, done).await;
    up.wait_for(1, WITHIN).await;
    down.wait_for(1, WITHIN).await;

    let keys = "SELECT COUNT(*) FROM ordering_keys";
    wait_until("the key done with forgotten", WITHIN, async || {
        app.count(keys).await == 1
    })
    .await;
    let done_with = "SELECT COUNT(*) FROM ordering_keys WHERE ordering_key = 'done/1'";
    assert_eq!(app.count(done_with).await, 0);
    let waiting = delivery_of(&app, &second["id"]).await;
    assert_eq!(waiting["status"], "pending", "never pruned: {waiting}");
    assert_eq!(
        waiting["waits_for"],
        delivery_of(&app, &first["id"]).await["id"]
    );
}
