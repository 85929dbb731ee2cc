//! `idempotency_key` on `POST /api/events`: an event published again with a
//! key accepted in the last 7 days is answered with the first one and fans
//! out once, however many publishers send it at once.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app_with};
use crate::receiver::Receiver;

async fn app_with_receiver() -> (TestApp, Receiver) {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"name": "r", "url": receiver.url, "events": ["order.*"]}))
        .await;
    (app, receiver)
}

async fn publish(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app.admin(Method::POST, "/api/events", Some(body)).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Waits for `expected` arrivals and for every delivery to be settled (so
/// that no more can follow), then returns how many arrived.
async fn settle(app: &TestApp, receiver: &Receiver, expected: usize) -> usize {
    receiver.wait_for(expected, Duration::from_secs(10)).await;
    app.settled().await;
    receiver.count()
}

#[tokio::test]
async fn an_event_published_twice_with_one_key_is_accepted_once() {
    let (app, receiver) = app_with_receiver().await;
    let event = json!({"type": "order.create", "data": {"n": 1}, "idempotency_key": "order-1"});
    let (status, first) = publish(&app, event.clone()).await;
    assert_eq!(status, 202);
    assert_eq!(first["data"]["duplicate"], false);
    assert_eq!(first["data"]["deliveries"], 1);

    let (status, again) = publish(&app, event).await;
    assert_eq!(status, 200, "nothing new was queued");
    assert_eq!(again["data"]["id"], first["data"]["id"]);
    assert_eq!(again["data"]["deliveries"], 1);
    assert_eq!(again["data"]["duplicate"], true);

    // The key is the publisher's: another key, or none, is another event.
    let other = json!({"type": "order.create", "data": {"n": 1}, "idempotency_key": "order-2"});
    assert_eq!(publish(&app, other).await.0, 202);
    let none = json!({"type": "order.create", "data": {"n": 1}});
    assert_eq!(publish(&app, none).await.0, 202);
    assert_eq!(settle(&app, &receiver, 3).await, 3);
}

#[tokio::test]
async fn a_batch_mixes_new_and_repeated_keys_and_refuses_one_key_twice() {
    let (app, receiver) = app_with_receiver().await;
    let (_, first) = publish(
        &app,
        json!({"type": "order.create", "data": {}, "idempotency_key": "a"}),
    )
    .await;
    let batch = json!({"events": [
        {"type": "order.update", "data": {}, "idempotency_key": "a"},
        {"type": "order.update", "data": {}, "idempotency_key": "b"},
        {"type": "order.update", "data": {}},
    ]});
    let (status, answer) = publish(&app, batch).await;
    assert_eq!(status, 202);
    let entries = answer["data"].as_array().unwrap();
    assert_eq!(entries[0]["id"], first["data"]["id"]);
    assert_eq!(entries[0]["duplicate"], true);
    assert_eq!(entries[1]["duplicate"], false);
    assert_eq!(entries[2]["duplicate"], false);

    let twice = json!({"events": [
        {"type": "order.update", "data": {}, "idempotency_key": "c"},
        {"type": "order.update", "data": {}, "idempotency_key": "c"},
    ]});
    let error = assert_error(
        app.admin(Method::POST, "/api/events", Some(twice)).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        error["fields"]["events[1].idempotency_key"].is_string(),
        "{error}"
    );
    for key in [
        json!(""),
        json!("x".repeat(201)),
        json!("line\nbreak"),
        json!(7),
    ] {
        let event = json!({"type": "order.create", "data": {}, "idempotency_key": key});
        let response = app.admin(Method::POST, "/api/events", Some(event)).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"]["idempotency_key"].is_string(), "{error}");
    }
    // Refused batches wrote nothing, and "c" is still free.
    let c = json!({"type": "order.create", "data": {}, "idempotency_key": "c"});
    assert_eq!(publish(&app, c).await.0, 202);
    assert_eq!(settle(&app, &receiver, 4).await, 4);
}

#[tokio::test]
async fn one_key_published_at_once_by_many_clients_makes_one_event_and_one_delivery() {
    let (app, receiver) = app_with_receiver().await;
    let mut publishers = Vec::new();
    for n in 0..16 {
        // A client of its own each, as separate publishers retrying would be.
        let client = reqwest::Client::new();
        let url = app.url("/api/events");
        publishers.push(tokio::spawn(async move {
            let event = json!({"type": "order.create", "data": {"try": n},
                               "idempotency_key": "the-same-order"});
            let response = client
                .post(url)
                .bearer_auth(crate::helpers::ADMIN_TOKEN)
                .json(&event)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for publisher in publishers {
        answers.push(publisher.await.unwrap());
    }
    let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
    let repeated = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!((accepted, repeated), (1, 15), "{answers:#?}");
    let id = &answers[0].1["data"]["id"];
    assert!(
        answers
            .iter()
            .all(|(_, answer)| &answer["data"]["id"] == id)
    );
    assert_eq!(settle(&app, &receiver, 1).await, 1);
    let deliveries: Value = app.admin_json("/api/deliveries").await;
    assert_eq!(deliveries["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_older_than_seven_days_is_accepted_again() {
    let (app, receiver) = app_with_receiver().await;
    let event = json!({"type": "order.create", "data": {}, "idempotency_key": "weekly"});
    let (_, first) = publish(&app, event.clone()).await;
    let eight_days_ms = (8 * 24 * 3600 * 1000_i64).to_string();
    app.execute(
        "UPDATE idempotency_keys SET created_at = created_at - CAST($1 AS BIGINT)",
        &[&eight_days_ms],
    )
    .await;
    let (status, again) = publish(&app, event).await;
    assert_eq!(status, 202);
    assert_ne!(again["data"]["id"], first["data"]["id"]);
    assert_eq!(settle(&app, &receiver, 2).await, 2);
}
