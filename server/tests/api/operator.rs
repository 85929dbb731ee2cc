//! Operator events: hookhub tells subscribers of `hookhub.*` when a delivery
//! fails for good and when it switches a webhook off, never the webhook the
//! event is about.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app_with;
use crate::receiver::{Receiver, Reply};

#[tokio::test]
async fn failures_and_switched_off_webhooks_are_told_to_hookhub_subscribers_only() {
    // No retries: a failed attempt fails its delivery for good.
    let app = spawn_app_with(&["--allow-private-targets", "--retry-schedule="]).await;
    let ops = Receiver::start().await;
    let broken = Receiver::answering(Reply::status(500)).await;
    let gone = Receiver::answering(Reply::status(410)).await;
    app.create_webhook(json!({"name": "ops chat", "url": ops.url, "events": ["hookhub.*"]}))
        .await;
    let broken_id = app
        .create_webhook_id(json!({"name": "broken", "url": broken.url,
                               "events": ["order.*", "hookhub.*"]}))
        .await;
    let gone_id = app
        .create_webhook_id(json!({"name": "gone", "url": gone.url, "events": ["order.*"]}))
        .await;

    let event = app.publish("order.create", json!({"n": 1})).await;
    let told = ops.wait_for(3, Duration::from_secs(10)).await;
    let by_type = |event_type: &str| -> Vec<Value> {
        told.iter()
            .map(|r| r.json())
            .filter(|body| body["type"] == event_type)
            .collect()
    };
    let failed = by_type("hookhub.delivery_failed");
    assert_eq!(failed.len(), 2, "{told:#?}");
    let of_broken = failed
        .iter()
        .find(|body| body["data"]["webhook_id"] == broken_id.as_str())
        .expect("the broken webhook's failure is told");
    let data = &of_broken["data"];
    assert_eq!(data["event_id"], event["id"]);
    assert_eq!(data["event_type"], "order.create");
    assert_eq!(data["attempts"], 1);
    assert_eq!(data["last_status_code"], 500);
    assert_eq!(data["last_error"], "HTTP 500");
    assert!(data["delivery_id"].as_str().unwrap().starts_with("dlv_"));

    let disabled = by_type("hookhub.webhook_disabled");
    assert_eq!(disabled.len(), 1, "{told:#?}");
    let data = &disabled[0]["data"];
    assert_eq!(data["webhook_id"], gone_id.as_str());
    assert_eq!(data["name"], "gone");
    assert_eq!(data["url"], gone.url.as_str());
    assert_eq!(data["reason"], "the receiver answered 410 Gone");
    assert_eq!(data["last_error"], "HTTP 410");
    assert!(data["disabled_at"].as_str().unwrap().ends_with('Z'));

    // The broken webhook subscribes to hookhub.* too: it gets the events
    // about the gone one, never one about itself, and its failures to take
    // them are not told again (two failing subscribers would tell each other forever).
    app.settled().await;
    for received in broken.received() {
        let body = received.json();
        assert_ne!(body["data"]["webhook_id"], broken_id.as_str(), "{body}");
    }
    assert_eq!(
        broken.count(),
        3,
        "order.create, and the two about the gone webhook"
    );
    assert_eq!(ops.count(), 3);

    // They are deliveries like any other, in the logs.
    let logs: Value = app.admin_json("/api/deliveries?event_type=hookhub.*").await;
    assert_eq!(logs["data"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn nobody_else_publishes_in_the_hookhub_module() {
    let app = crate::helpers::spawn_app().await;
    let spoof = json!({"type": "hookhub.webhook_disabled", "data": {"webhook_id": "wh_x"}});
    let error = crate::helpers::assert_error(
        app.admin(Method::POST, "/api/events", Some(spoof)).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(error["fields"]["type"].is_string(), "{error}");
    let trigger = json!({"name": "t", "event_type": "hookhub.delivery_failed"});
    let error = crate::helpers::assert_error(
        app.admin(Method::POST, "/api/triggers", Some(trigger))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(error["fields"]["event_type"].is_string(), "{error}");
    let object = app
        .admin(Method::POST, "/api/objects/hookhub", Some(json!({"a": 1})))
        .await;
    let error = crate::helpers::assert_error(object, 422, "validation_failed").await;
    assert!(error["fields"]["module"].is_string(), "{error}");
}
