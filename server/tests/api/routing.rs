//! Precise routing (SPEC.md): a webhook's `filter` decides which events of
//! its types make a delivery (checked when written, shown by the preview
//! against its sample event), and its `rate_limit` how fast they go.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, created_id, spawn_app_with};
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(10);

async fn app() -> TestApp {
    spawn_app_with(&["--allow-private-targets"]).await
}

fn priorities(receiver: &Receiver) -> Vec<Value> {
    receiver
        .received()
        .iter()
        .map(|r| r.json()["data"]["priority"].clone())
        .collect()
}

#[tokio::test]
async fn a_filter_sends_only_the_events_it_matches() {
    let app = app().await;
    let pager = Receiver::start().await;
    let everything = Receiver::start().await;
    let filter = json!({"data.priority": {"$in": ["P1", "P2"]}, "data.status": "open"});
    let created = app
        .create_webhook(
            json!({"name": "pager", "url": pager.url, "events": ["ticket.*"], "filter": filter}),
        )
        .await;
    assert_eq!(created["filter"], filter);
    app.create_webhook(json!({"name": "all", "url": everything.url, "events": ["ticket.*"]}))
        .await;

    let mut queued = Vec::new();
    for (priority, status) in [
        ("P1", "open"),
        ("P3", "open"),
        ("P2", "closed"),
        ("P2", "open"),
    ] {
        let data = json!({"priority": priority, "status": status});
        queued.push(app.publish("ticket.create", data).await["deliveries"].clone());
    }
    assert_eq!(
        queued,
        [2, 1, 1, 2],
        "an event the filter refuses makes no delivery"
    );
    everything.wait_for(4, WAIT).await;
    pager.wait_for(2, WAIT).await;
    app.settled().await;
    let mut sent = priorities(&pager);
    sent.sort_by_key(|p| p.to_string());
    assert_eq!(sent, [json!("P1"), json!("P2")]);
}

#[tokio::test]
async fn a_filter_reads_what_an_update_changed() {
    let app = app().await;
    let receiver = Receiver::start().await;
    let filter =
        json!({"changed_fields": {"$contains": "status"}, "previous.status": {"$ne": "closed"}});
    app.create_webhook(
        json!({"name": "status changes", "url": receiver.url, "events": ["ticket.update"], "filter": filter}),
    )
    .await;
    let created = app
        .admin(
            Method::POST,
            "/api/objects/ticket",
            Some(json!({"status": "open", "title": "a"})),
        )
        .await;
    let ticket = created_id(created).await;
    let path = format!("/api/objects/ticket/{ticket}");
    for change in [
        json!({"title": "b"}),
        json!({"status": "closed"}),
        json!({"status": "open"}),
    ] {
        let patched = app.admin(Method::PATCH, &path, Some(change)).await;
        assert_eq!(patched.status(), 200);
    }
    receiver.wait_for(1, WAIT).await;
    app.settled().await;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        1,
        "the title change and the reopening are not sent"
    );
    assert_eq!(received[0].json()["data"]["status"], "closed");
}

#[tokio::test]
async fn an_invalid_filter_is_refused_naming_where_and_changes_nothing() {
    let app = app().await;
    let receiver = Receiver::start().await;
    let refused = app
        .admin(
            Method::POST,
            "/api/webhooks",
            Some(
                json!({"name": "x", "url": receiver.url, "events": ["ticket.*"],
                        "filter": {"data.priority": {"$gt": ["P1"]}}}),
            ),
        )
        .await;
    let error = assert_error(refused, 422, "validation_failed").await;
    let problem = error["fields"]["filter"].as_str().unwrap();
    assert!(problem.contains("data.priority.$gt"), "{problem}");
    assert_eq!(app.webhook_count().await, 0);

    let filter = json!({"type": "ticket.create"});
    let id = app
        .create_webhook_id(
            json!({"name": "x", "url": receiver.url, "events": ["ticket.*"], "filter": filter}),
        )
        .await;
    let path = format!("/api/webhooks/{id}");
    for (bad, at) in [
        (json!({"$or": []}), "$or"),
        (json!({"data..x": 1}), "data..x"),
        (json!("ticket.create"), ""),
        (json!({"data.x": {"$like": "a%"}}), "data.x.$like"),
    ] {
        let response = app
            .admin(Method::PATCH, &path, Some(json!({"filter": bad})))
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        let problem = error["fields"]["filter"].as_str().unwrap();
        assert!(problem.contains(at), "{bad}: {problem}");
        assert_eq!(app.webhook(&id).await["filter"], filter, "unchanged");
    }
    let cleared = app
        .admin(Method::PATCH, &path, Some(json!({"filter": null})))
        .await;
    assert_eq!(cleared.status(), 204);
    assert_eq!(app.webhook(&id).await["filter"], Value::Null);
}

#[tokio::test]
async fn the_preview_says_whether_its_sample_event_passes_the_filter() {
    let app = app().await;
    let preview = async |filter: Value| -> Value {
        let body = json!({"webhook": {"name": "p", "url": "https://receiver.example/in",
                                      "events": ["ticket.*"], "filter": filter}});
        let response = app
            .admin(Method::POST, "/api/webhooks/preview", Some(body))
            .await;
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["data"].clone()
    };
    // The sample of `ticket.*` is a `ticket.update` that closed the ticket.
    let passes = preview(json!({"type": "ticket.update", "previous.status": "open"})).await;
    assert_eq!(passes["filter_matches"], true);
    assert!(passes["body"].as_str().unwrap().contains("ticket.update"));
    let refused = preview(json!({"data.status": {"$ne": "closed"}})).await;
    assert_eq!(refused["filter_matches"], false);
    assert_eq!(preview(Value::Null).await["filter_matches"], Value::Null);
}

#[tokio::test]
async fn a_rate_limited_webhook_gets_everything_at_its_pace_and_slows_no_other() {
    let app = app().await;
    let limited = Receiver::start().await;
    let other = Receiver::start().await;
    let created = app
        .create_webhook(json!({"name": "old itsm", "url": limited.url, "events": ["ticket.*"], "rate_limit": 5}))
        .await;
    assert_eq!(created["rate_limit"], 5);
    app.create_webhook(json!({"name": "fast", "url": other.url, "events": ["ticket.*"]}))
        .await;
    let events: Vec<Value> = (0..30)
        .map(|n| json!({"type": "ticket.create", "data": {"n": n}}))
        .collect();
    let published = app
        .admin(Method::POST, "/api/events", Some(json!({"events": events})))
        .await;
    assert_eq!(published.status(), 202);

    let fast = other.wait_for(30, WAIT).await;
    let paced = limited.wait_for(30, Duration::from_secs(30)).await;
    let span = paced.last().unwrap().at - paced.first().unwrap().at;
    assert!(
        span >= Duration::from_millis(4_500),
        "30 at 5/s came within {span:?}"
    );
    assert!(
        fast.last().unwrap().at < paced[15].at,
        "the other webhook waited for the limited one"
    );
    app.settled().await;
    let attempts: Vec<Value> = app.admin_json("/api/deliveries?limit=100").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attempt_count"].clone())
        .collect();
    assert!(
        attempts.iter().all(|n| *n == 1),
        "waiting is not an attempt: {attempts:?}"
    );
    assert_eq!(limited.count(), 30, "each once");
}

#[tokio::test]
async fn a_rate_limit_is_one_to_ten_thousand_a_second_or_none() {
    let app = app().await;
    let receiver = Receiver::start().await;
    let id = app
        .create_webhook_id(
            json!({"name": "x", "url": receiver.url, "events": ["ticket.*"], "rate_limit": 10}),
        )
        .await;
    let path = format!("/api/webhooks/{id}");
    for bad in [json!(0), json!(10_001), json!(-1), json!(2.5), json!("5")] {
        let response = app
            .admin(Method::PATCH, &path, Some(json!({"rate_limit": bad})))
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"]["rate_limit"].is_string(), "{bad}: {error}");
        assert_eq!(app.webhook(&id).await["rate_limit"], 10, "unchanged");
    }
    let cleared = app
        .admin(Method::PATCH, &path, Some(json!({"rate_limit": null})))
        .await;
    assert_eq!(cleared.status(), 204);
    assert_eq!(app.webhook(&id).await["rate_limit"], Value::Null);
}

#[tokio::test]
async fn a_webhook_retries_on_its_own_schedule_instead_of_the_servers() {
    // The server would wait an hour before its first retry.
    let app = spawn_app_with(&["--allow-private-targets", "--retry-schedule=1h"]).await;
    let receiver = Receiver::answering(crate::receiver::Reply::status(503)).await;
    let created = app
        .create_webhook(
            json!({"name": "pager", "url": receiver.url, "events": ["ticket.*"],
                               "retry_schedule": ["1s", "1s"]}),
        )
        .await;
    assert_eq!(created["retry_schedule"], json!(["1s", "1s"]));
    app.publish("ticket.create", json!({"n": 1})).await;
    receiver.wait_for(3, WAIT).await;
    app.settled().await;
    let delivery = &app.admin_json("/api/deliveries").await["data"][0];
    assert_eq!(delivery["status"], "failed", "out of its own retries");
    assert_eq!(delivery["attempt_count"], 3);
    assert_eq!(receiver.count(), 3);
}

#[tokio::test]
async fn a_retry_schedule_is_checked_naming_the_bad_step_and_null_gives_the_servers_back() {
    let app = app().await;
    let receiver = Receiver::start().await;
    let id = app
        .create_webhook_id(
            json!({"name": "x", "url": receiver.url, "events": ["ticket.*"],
                                  "retry_schedule": ["10s", "90s", "120m", "24h"]}),
        )
        .await;
    let path = format!("/api/webhooks/{id}");
    let shown = app.webhook(&id).await["retry_schedule"].clone();
    assert_eq!(
        shown,
        json!(["10s", "90s", "2h", "24h"]),
        "each in its largest whole unit"
    );
    for (bad, step) in [
        (json!(["10s", "5d"]), "step 2"),
        (json!(["0s"]), "step 1"),
        (json!(["25h"]), "step 1"),
        (json!(["500ms"]), "step 1"),
        (json!(["1s", "s"]), "step 2"),
        (json!([]), "1 to 20 steps"),
        (json!(vec!["1m"; 21]), "1 to 20 steps"),
    ] {
        let response = app
            .admin(Method::PATCH, &path, Some(json!({"retry_schedule": bad})))
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        let problem = error["fields"]["retry_schedule"].as_str().unwrap();
        assert!(problem.contains(step), "{bad}: {problem}");
        assert_eq!(app.webhook(&id).await["retry_schedule"], shown, "unchanged");
    }
    let cleared = app
        .admin(Method::PATCH, &path, Some(json!({"retry_schedule": null})))
        .await;
    assert_eq!(cleared.status(), 204);
    assert_eq!(app.webhook(&id).await["retry_schedule"], Value::Null);
}
