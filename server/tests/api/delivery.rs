use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_error, backend, spawn_app, spawn_app_with, wait_for, wait_until,
};
use crate::receiver::{Received, Receiver, Reply};

const WAIT: Duration = Duration::from_secs(10);

/// hookhub allowed to reach the test receiver on loopback, with a short retry schedule.
async fn local_app(schedule: &str) -> TestApp {
    spawn_app_with(&[
        "--allow-private-targets",
        &format!("--retry-schedule={schedule}"),
    ])
    .await
}

async fn webhook_to(app: &TestApp, receiver: &Receiver, extra: Value) -> String {
    let mut body =
        json!({"name": "receiver", "url": format!("{}/in", receiver.url), "events": ["*"]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.create_webhook_id(body).await
}

/// Publishes `count` events of `event_type` numbered in `data.n`, in one batch; the 202 body.
async fn publish_numbered(app: &TestApp, event_type: &str, count: usize) -> Value {
    let batch: Vec<Value> = (0..count)
        .map(|n| json!({"type": event_type, "data": {"n": n}}))
        .collect();
    let response = app
        .admin(Method::POST, "/api/events", Some(json!({"events": batch})))
        .await;
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

/// The `data.n` of every request received, sorted.
fn numbers(received: &[Received]) -> Vec<i64> {
    let mut numbers: Vec<i64> = received
        .iter()
        .map(|r| r.json()["data"]["n"].as_i64().unwrap())
        .collect();
    numbers.sort();
    numbers
}

/// Checks the Standard Webhooks signature with an independent verifier.
fn verify(secret: &str, request: &Received) -> Result<(), String> {
    let verifier = standardwebhooks::Webhook::new(secret).map_err(|e| e.to_string())?;
    let mut headers = axum::http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, request.header(name).unwrap().parse().unwrap());
    }
    verifier
        .verify(&request.body, &headers)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_published_event_arrives_signed_with_every_header() {
    let app = local_app("1s").await;
    let receiver = Receiver::start().await;
    let id = webhook_to(
        &app,
        &receiver,
        json!({"events": ["weather.*"], "headers": {"X-Team": "ops"}}),
    )
    .await;
    let accepted = app
        .publish("weather.report", json!({"city": "Paris", "temp": 21}))
        .await;
    assert_eq!(accepted["deliveries"], 1);
    assert!(accepted["id"].as_str().unwrap().starts_with("evt_"));

    let request = &receiver.wait_for(1, WAIT).await[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/in");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("hookhub/")
    );
    assert_eq!(request.header("x-team"), Some("ops"));
    assert_eq!(request.header("webhook-event"), Some("weather.report"));
    assert!(request.header("authorization").is_none());
    let body = request.json();
    assert_eq!(body["type"], "weather.report");
    assert_eq!(body["data"], json!({"city": "Paris", "temp": 21}));
    verify(&app.secret(&id).await, request).unwrap();
    verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", request).unwrap_err();
}

#[tokio::test]
async fn method_auth_and_data_location_shape_the_request() {
    let app = local_app("1s").await;
    let basic = Receiver::start().await;
    let bearer = Receiver::start().await;
    webhook_to(
        &app,
        &basic,
        json!({
            "method": "PUT", "data_location": "root/result",
            "auth": {"type": "basic", "username": "hook", "password": "s3cret"}
        }),
    )
    .await;
    webhook_to(
        &app,
        &bearer,
        json!({"method": "PATCH", "auth": {"type": "bearer", "token": "tok-42"}}),
    )
    .await;
    app.publish("order.create", json!({"id": 7})).await;

    let request = &basic.wait_for(1, WAIT).await[0];
    assert_eq!(request.method, Method::PUT);
    assert_eq!(
        request.header("authorization"),
        Some("Basic aG9vazpzM2NyZXQ=")
    );
    assert_eq!(request.json(), json!({"root": {"result": {"id": 7}}}));
    assert_eq!(request.header("webhook-event"), Some("order.create"));

    let request = &bearer.wait_for(1, WAIT).await[0];
    assert_eq!(request.method, Method::PATCH);
    assert_eq!(request.header("authorization"), Some("Bearer tok-42"));
}

#[tokio::test]
async fn only_active_webhooks_whose_events_match_receive() {
    let app = local_app("1s").await;
    let receivers = [
        Receiver::start().await, // ticket.create
        Receiver::start().await, // ticket.*
        Receiver::start().await, // *
        Receiver::start().await, // ticket.update
        Receiver::start().await, // ticket.create, inactive
    ];
    for (receiver, events, active) in [
        (&receivers[0], json!(["ticket.create"]), true),
        (&receivers[1], json!(["ticket.*"]), true),
        (&receivers[2], json!(["*"]), true),
        (&receivers[3], json!(["ticket.update"]), true),
        (&receivers[4], json!(["ticket.create"]), false),
    ] {
        webhook_to(&app, receiver, json!({"events": events, "active": active})).await;
    }
    let accepted = app.publish("ticket.create", json!({"n": 1})).await;
    assert_eq!(accepted["deliveries"], 3);
    for receiver in &receivers[..3] {
        receiver.wait_for(1, WAIT).await;
    }
    // A later event to the others shows they were skipped, not slow.
    app.publish("ticket.update", json!({"n": 2})).await;
    let update = receivers[3].wait_for(1, WAIT).await;
    assert_eq!(update[0].json()["data"], json!({"n": 2}));
    assert!(receivers[4].received().is_empty());
}

#[tokio::test]
async fn a_batch_is_accepted_whole_or_not_at_all() {
    let app = local_app("1s").await;
    let receiver = Receiver::start().await;
    webhook_to(&app, &receiver, json!({})).await;

    let bad = json!({"events": [{"type": "a.b", "data": 1}, {"type": "Not Valid", "data": 2}]});
    let error = assert_error(
        app.admin(Method::POST, "/api/events", Some(bad)).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(error["fields"].get("events[1].type").is_some(), "{error}");
    let too_many: Vec<Value> = (0..1001)
        .map(|n| json!({"type": "a.b", "data": n}))
        .collect();
    let response = app
        .admin(
            Method::POST,
            "/api/events",
            Some(json!({"events": too_many})),
        )
        .await;
    assert_error(response, 422, "validation_failed").await;
    let missing = app
        .admin(Method::POST, "/api/events", Some(json!({"type": "a.b"})))
        .await;
    assert_error(missing, 422, "validation_failed").await;

    let accepted = publish_numbered(&app, "batch.item", 20).await;
    assert_eq!(accepted["data"].as_array().unwrap().len(), 20);
    let received = receiver.wait_for(20, WAIT).await;
    assert!(received.iter().all(|r| r.json()["type"] == "batch.item"));
    assert_eq!(numbers(&received), (0..20).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_burst_larger_than_the_workers_hold_arrives_whole_once_each() {
    let app = local_app("1s").await;
    let receiver = Receiver::start().await;
    let webhook = webhook_to(&app, &receiver, json!({"events": ["burst.*"]})).await;
    // More than one webhook's share of held deliveries: the rest wait in the outbox.
    publish_numbered(&app, "burst.item", 700).await;
    let received = receiver.wait_for(700, Duration::from_secs(30)).await;
    assert_eq!(numbers(&received), (0..700).collect::<Vec<_>>());
    let mut ids: Vec<&str> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 700, "700 distinct deliveries");
    // Each recorded as succeeded at its first attempt: none is due again,
    // so none can be sent twice later.
    let deliveries = all_deliveries(&app, &webhook, "succeeded", 700).await;
    assert!(
        deliveries.iter().all(|d| d["attempt_count"] == 1),
        "a delivery was attempted twice"
    );
    assert_eq!(receiver.received().len(), 700, "none was sent twice");
}

/// Every delivery to `webhook_id` with `status`, once there are `count` of
/// them (all pages), or a failure after `WAIT`.
async fn all_deliveries(app: &TestApp, webhook_id: &str, status: &str, count: usize) -> Vec<Value> {
    let what = format!("{count} deliveries {status}");
    wait_for(&what, WAIT, async || {
        let mut deliveries = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!(
                "/api/deliveries?webhook_id={webhook_id}&status={status}&limit=500&cursor={cursor}"
            );
            let page = app.admin_json(&path).await;
            deliveries.extend(page["data"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_string(),
                None => break,
            }
        }
        (deliveries.len() == count).then_some(deliveries)
    })
    .await
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_the_same_webhook_id_until_it_answers() {
    let app = local_app("300ms,300ms,300ms").await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500), Reply::status(500), Reply::ok()]);
    let id = webhook_to(&app, &receiver, json!({})).await;
    app.publish("ticket.create", json!({"n": 1})).await;

    let received = receiver.wait_for(3, WAIT).await;
    let webhook_id = received[0].header("webhook-id").unwrap();
    assert!(
        received
            .iter()
            .all(|r| r.header("webhook-id") == Some(webhook_id))
    );
    let secret = app.secret(&id).await;
    for request in &received {
        verify(&secret, request).unwrap();
    }
    // success resets the failure count; nothing more is due
    all_deliveries(&app, &id, "succeeded", 1).await;
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(app.webhook(&id).await["health"]["consecutive_failures"], 0);
}

#[tokio::test]
async fn after_the_last_step_the_delivery_gives_up() {
    let app = local_app("200ms,200ms").await;
    let receiver = Receiver::answering(Reply::status(503)).await;
    let id = webhook_to(&app, &receiver, json!({})).await;
    app.publish("ticket.create", json!({})).await;
    // Failed for good: nothing more is due (rounds.rs drives the same step by hand).
    let failed = all_deliveries(&app, &id, "failed", 1).await;
    assert_eq!(failed[0]["attempt_count"], 3);
    assert_eq!(receiver.received().len(), 3, "attempts beyond the schedule");
    let webhook = app.webhook(&id).await;
    assert_eq!(webhook["health"]["consecutive_failures"], 3);
    assert_eq!(webhook["health"]["state"], "failing");
    assert_eq!(webhook["health"]["last_error"], "HTTP 503");
    assert_eq!(webhook["active"], true);
}

#[tokio::test]
async fn retry_after_lengthens_the_wait_up_to_the_next_step() {
    let app = local_app("100ms,10s").await;
    let receiver = Receiver::start().await;
    let mut slow_down = Reply::status(429);
    slow_down.retry_after = Some("1");
    receiver.script([slow_down]);
    webhook_to(&app, &receiver, json!({})).await;
    app.publish("ticket.create", json!({})).await;
    let received = receiver.wait_for(2, WAIT).await;
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(900),
        "retried after {waited:?} despite Retry-After: 1"
    );
}

#[tokio::test]
async fn test_sends_now_even_to_an_inactive_webhook_and_shows_the_answer() {
    let app = local_app("1s").await;
    let receiver = Receiver::start().await;
    let id = webhook_to(&app, &receiver, json!({"active": false})).await;
    let response = app
        .admin(Method::POST, &format!("/api/webhooks/{id}/test"), None)
        .await;
    assert_eq!(response.status(), 200);
    let attempt = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(attempt["status"], "succeeded");
    assert_eq!(attempt["response"]["status_code"], 200);
    assert_eq!(attempt["response"]["body"], "thanks");
    assert!(attempt["duration_ms"].is_u64());
    assert_eq!(attempt["request"]["method"], "POST");

    let request = &receiver.received()[0];
    assert_eq!(request.json()["type"], "webhook.test");
    verify(&app.secret(&id).await, request).unwrap();
    // The answer shows the request as it was sent, body included.
    assert_eq!(
        attempt["request"]["body"].as_str().unwrap().as_bytes(),
        &request.body[..]
    );

    let missing = app
        .admin(Method::POST, "/api/webhooks/wh_missing/test", None)
        .await;
    assert_error(missing, 404, "not_found").await;
}

#[tokio::test]
async fn test_shows_a_timeout_and_masks_credentials() {
    let app = spawn_app_with(&["--allow-private-targets", "--delivery-timeout=300ms"]).await;
    let receiver = Receiver::answering(Reply::ok().after(Duration::from_secs(3))).await;
    let id = webhook_to(
        &app,
        &receiver,
        json!({"auth": {"type": "bearer", "token": "very-secret"}}),
    )
    .await;
    let response = app
        .admin(Method::POST, &format!("/api/webhooks/{id}/test"), None)
        .await;
    let attempt = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(attempt["status"], "failed");
    assert_eq!(attempt["error_class"], "timeout");
    // Said in words, with what to do about it; the raw error beside.
    assert_eq!(attempt["error_words"], "timed out after 300 ms");
    assert!(
        attempt["error_hint"]
            .as_str()
            .unwrap()
            .contains("--delivery-timeout")
    );
    assert!(attempt["error"].as_str().is_some());
    assert_eq!(attempt["response"], Value::Null);
    assert_eq!(attempt["request"]["headers"]["authorization"], "Bearer ***");
    assert!(!attempt.to_string().contains("very-secret"));
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let port = receiver.url.rsplit(':').next().unwrap().to_string();
    // Literal addresses are refused when written, naming the flag.
    for url in [
        receiver.url.clone(),
        "http://10.0.0.1/".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        format!("http://[::1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
    ] {
        let response = app
            .admin(
                Method::POST,
                "/api/webhooks",
                Some(json!({"name": "inside", "url": url})),
            )
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        let problem = error["fields"]["url"].as_str().unwrap();
        assert!(
            problem.contains("--allow-private-targets"),
            "{url}: {problem}"
        );
    }
    assert_eq!(app.webhook_count().await, 0);
    // A public one cannot be changed into one either.
    let id = app
        .create_webhook_id(json!({"name": "outside", "url": "https://example.com/in"}))
        .await;
    let change = json!({"url": "http://127.0.0.1:9/in"});
    let path = format!("/api/webhooks/{id}");
    let response = app.admin(Method::PATCH, &path, Some(change)).await;
    assert_error(response, 422, "validation_failed").await;
    // A name is checked where it resolves, at delivery.
    let webhook = app
        .create_webhook(json!({"name": "inside", "url": format!("http://localhost:{port}")}))
        .await;
    let path = format!("/api/webhooks/{}/test", webhook["id"].as_str().unwrap());
    let attempt = app
        .admin(Method::POST, &path, None)
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]
        .clone();
    assert_eq!(
        attempt["error_class"], "refused-private-target",
        "{attempt}"
    );
    assert!(
        attempt["error"]
            .as_str()
            .unwrap()
            .contains("--allow-private-targets")
    );
    assert!(receiver.received().is_empty());
}

/// 60 webhooks whose receivers accept connections and never answer, 40
/// deliveries each, beside a healthy one: the healthy one's 200 deliveries
/// go out at once, not after the hung ones' timeout (30 s here), because no
/// webhook takes more than its part of the slots while others have work.
#[tokio::test]
async fn hung_receivers_do_not_starve_a_healthy_one() {
    let app = spawn_app_with(&["--allow-private-targets", "--delivery-timeout=30s"]).await;
    let hung = crate::receiver::silent().await;
    for n in 0..60 {
        let body = json!({"name": format!("hung {n}"), "url": format!("{hung}/{n}"), "events": [format!("hung{n}.*")]});
        app.create_webhook_id(body).await;
    }
    let healthy = Receiver::start().await;
    webhook_to(&app, &healthy, json!({"events": ["healthy.*"]})).await;
    for n in 0..60 {
        publish_numbered(&app, &format!("hung{n}.item"), 40).await;
    }

    let started = std::time::Instant::now();
    publish_numbered(&app, "healthy.item", 200).await;
    healthy.wait_for(200, Duration::from_secs(25)).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the healthy webhook's 200 deliveries took {took:?} beside hung ones"
    );
    assert_eq!(numbers(&healthy.received()), (0..200).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_dead_target_does_not_delay_a_healthy_one() {
    let app = local_app("1s").await;
    let stuck = Receiver::answering(Reply::ok().after(Duration::from_secs(4))).await;
    let healthy = Receiver::start().await;
    webhook_to(&app, &stuck, json!({"events": ["stuck.*"]})).await;
    webhook_to(&app, &healthy, json!({"events": ["healthy.*"]})).await;
    let batch: Vec<Value> = (0..60)
        .map(|n| json!({"type": "stuck.item", "data": n}))
        .collect();
    let response = app
        .admin(Method::POST, "/api/events", Some(json!({"events": batch})))
        .await;
    assert_eq!(response.status(), 202);
    stuck.wait_for(1, WAIT).await;

    app.publish("healthy.item", json!({})).await;
    healthy.wait_for(1, WAIT).await;
    assert_eq!(
        stuck.answered(),
        0,
        "the healthy delivery waited for the stuck target"
    );
    assert!(
        stuck.received().len() <= 16,
        "one target took more than its share of slots"
    );
}

#[tokio::test]
async fn a_rotated_secret_and_the_previous_one_both_verify() {
    let app = local_app("1s").await;
    let receiver = Receiver::start().await;
    let id = webhook_to(&app, &receiver, json!({})).await;
    let old = app.secret(&id).await;
    let new = app.rotate_secret(&id).await;
    app.publish("ticket.create", json!({})).await;
    let request = &receiver.wait_for(1, WAIT).await[0];
    assert_eq!(
        request
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    verify(&new, request).unwrap();
    verify(&old, request).unwrap();
}

#[tokio::test]
async fn a_webhook_failing_past_disable_after_is_switched_off_with_the_reason() {
    let app = spawn_app_with(&[
        "--allow-private-targets",
        "--retry-schedule=300ms,300ms,300ms,300ms,300ms,300ms",
        "--disable-after=1s",
    ])
    .await;
    let receiver = Receiver::answering(Reply::status(500)).await;
    let id = webhook_to(&app, &receiver, json!({})).await;
    app.publish("ticket.create", json!({})).await;
    let webhook = wait_for("the switch-off", WAIT, async || {
        Some(app.webhook(&id).await).filter(|webhook| webhook["active"] == false)
    })
    .await;
    let reason = webhook["health"]["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("without a single success"), "{reason}");
    assert_eq!(webhook["health"]["state"], "disabled");
    assert!(webhook["health"]["disabled_at"].is_string());
    // Switched off: its delivery waits, paused, with no more attempts.
    let paused = all_deliveries(&app, &id, "paused", 1).await;
    let attempts = paused[0]["attempt_count"].as_u64().unwrap() as usize;
    assert_eq!(receiver.received().len(), attempts);
}

#[tokio::test]
async fn the_preview_is_the_request_a_sample_event_would_produce() {
    let app = spawn_app().await;
    let webhook = json!({
        "name": "preview", "url": "https://example.com/in", "events": ["ticket.*"], "method": "PUT",
        "auth": {"type": "bearer", "token": "tok-secret"}, "data_location": "root/result",
        "headers": {"X-Team": "ops"}
    });
    let response = app
        .admin(
            Method::POST,
            "/api/webhooks/preview",
            Some(json!({"webhook": webhook})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let request = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(request["method"], "PUT");
    assert_eq!(request["url"], "https://example.com/in");
    let headers = &request["headers"];
    assert_eq!(headers["authorization"], "Bearer ***");
    assert_eq!(headers["x-team"], "***");
    assert_eq!(headers["webhook-event"], "ticket.update");
    assert!(
        headers["webhook-signature"]
            .as_str()
            .unwrap()
            .starts_with("v1,")
    );
    let body: Value = serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["root"]["result"]["name"], "Example");
    assert!(!request.to_string().contains("tok-secret"));
    assert_eq!(app.webhook_count().await, 0, "a preview saves nothing");

    // for a saved webhook: its real secret signs, and the form's changes apply
    let id = app.create_webhook_id(webhook.clone()).await;
    let edit = json!({"id": id, "webhook": {"data_location": null, "events": ["order.create"]}});
    let request = app
        .admin(Method::POST, "/api/webhooks/preview", Some(edit))
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]
        .clone();
    let body: Value = serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "order.create");
    let mut signed = axum::http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        signed.insert(
            name,
            request["headers"][name].as_str().unwrap().parse().unwrap(),
        );
    }
    let verifier = standardwebhooks::Webhook::new(&app.secret(&id).await).unwrap();
    verifier
        .verify(request["body"].as_str().unwrap().as_bytes(), &signed)
        .unwrap();

    let invalid = json!({"webhook": {"name": "x", "url": "nope"}});
    let response = app
        .admin(Method::POST, "/api/webhooks/preview", Some(invalid))
        .await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(error["fields"].get("url").is_some());
}

/// Every delivery of `webhook_id` with its attempts, once all are finished.
async fn finished_deliveries(app: &TestApp, webhook_id: &str, count: usize) -> Vec<Value> {
    let what = format!("{count} deliveries finished");
    let deliveries = wait_for(&what, WAIT, async || {
        let path = format!("/api/deliveries?webhook_id={webhook_id}&limit=500");
        let deliveries = app.admin_json(&path).await["data"]
            .as_array()
            .unwrap()
            .clone();
        let finished = deliveries
            .iter()
            .filter(|d| d["status"] == "succeeded" || d["status"] == "failed")
            .count();
        (deliveries.len() == count && finished == count).then_some(deliveries)
    })
    .await;
    let mut details = Vec::new();
    for delivery in deliveries {
        let path = format!("/api/deliveries/{}", delivery["id"].as_str().unwrap());
        details.push(app.admin_json(&path).await["data"].clone());
    }
    details
}

#[tokio::test]
async fn deleting_a_webhook_with_attempts_in_flight_leaves_the_others_recorded_once() {
    // A lease of 2 × 3 s + 5 s: a lost record would show as deliveries
    // still pending when the check gives up, then sent a second time.
    let app = spawn_app_with(&["--allow-private-targets", "--delivery-timeout=3s"]).await;
    let slow = Reply::ok().after(Duration::from_millis(1500));
    let receiver_a = Receiver::answering(slow.clone()).await;
    let receiver_b = Receiver::answering(slow).await;
    let a = webhook_to(&app, &receiver_a, json!({"events": ["fk.test"]})).await;
    let b = webhook_to(&app, &receiver_b, json!({"events": ["fk.test"]})).await;
    publish_numbered(&app, "fk.test", 16).await;
    // A's receiver holds its first requests: attempts are in flight.
    receiver_a.wait_for(1, WAIT).await;
    let deleted = app
        .admin(Method::DELETE, &format!("/api/webhooks/{a}"), None)
        .await;
    assert_eq!(deleted.status(), 204);

    let deliveries = finished_deliveries(&app, &b, 16).await;
    for delivery in &deliveries {
        assert_eq!(delivery["status"], "succeeded", "{delivery}");
        assert_eq!(
            delivery["attempts"].as_array().unwrap().len(),
            1,
            "{delivery}"
        );
    }
    // all finished at their first attempt: nothing more is due
    let received = receiver_b.received();
    assert_eq!(received.len(), 16, "B was sent deliveries twice");
    assert_eq!(numbers(&received), (0..16).collect::<Vec<i64>>());
    let gone = app
        .admin(Method::GET, "/api/deliveries?limit=500", None)
        .await;
    let gone: Value = gone.json().await.unwrap();
    assert!(
        gone["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["webhook_id"] == b)
    );
}

/// The database's own size: on SQLite its pages, the log included; on
/// PostgreSQL (which compresses large values) the bytes of the events and
/// attempts' bodies before compression.
async fn database_bytes(app: &TestApp) -> i64 {
    if backend() == Backend::Postgres {
        let mut connection: sqlx::PgConnection =
            sqlx::Connection::connect(&app.database_url).await.unwrap();
        return sqlx::query_scalar(
            "SELECT (SELECT COALESCE(sum(octet_length(data)), 0) FROM events)
                  + (SELECT COALESCE(sum(octet_length(request_body))
                                   + sum(COALESCE(octet_length(response_body), 0)), 0) FROM attempts)",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
    }
    let url = format!("{}?mode=ro", app.database_url);
    let mut connection: sqlx::SqliteConnection = sqlx::Connection::connect(&url).await.unwrap();
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    let size: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    pages * size
}

#[tokio::test]
async fn a_large_event_is_stored_once_however_many_attempts_carry_it() {
    let app = local_app("50ms,50ms").await;
    let failing = Receiver::answering(Reply::status(500)).await;
    let shaped = Receiver::answering(Reply::status(500)).await;
    webhook_to(&app, &failing, json!({})).await;
    let nested = webhook_to(&app, &shaped, json!({"data_location": "root/result"})).await;
    let before = database_bytes(&app).await;
    let text = "x".repeat(3 << 19);
    app.publish("big.create", json!({"text": text})).await;
    // Two webhooks, three attempts each: six requests of 1.5 MiB.
    failing.wait_for(3, WAIT).await;
    shaped.wait_for(3, WAIT).await;
    let deliveries = finished_deliveries(&app, &nested, 1).await;

    let grown = database_bytes(&app).await - before;
    assert!(grown < 3 << 20, "the database grew by {} MiB", grown >> 20);
    // The detail still shows each attempt's request exactly as it was sent.
    let attempts = deliveries[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    let sent = shaped.received();
    for (attempt, request) in attempts.iter().zip(&sent) {
        assert_eq!(
            attempt["request"]["body"].as_str().unwrap().as_bytes(),
            &request.body[..]
        );
    }
    assert_eq!(sent[0].json()["root"]["result"]["text"], text.as_str());
}

/// 32 webhooks that never had an event were switched off by their failed
/// Tests: a Test says how the receiver answers now, and leaves the health
/// (and the switch-off that follows from it) to real deliveries.
#[tokio::test]
async fn failed_tests_never_switch_a_webhook_off() {
    let app = spawn_app_with(&["--allow-private-targets", "--disable-after=1ms"]).await;
    let receiver = Receiver::answering(Reply::status(500)).await;
    let id = webhook_to(&app, &receiver, json!({})).await;
    for _ in 0..3 {
        let path = format!("/api/webhooks/{id}/test");
        let test = app.admin(Method::POST, &path, None).await;
        assert_eq!(test.status(), 200);
        let attempt: Value = test.json().await.unwrap();
        assert_eq!(attempt["data"]["response"]["status_code"], 500);
    }
    let webhook = app.webhook(&id).await;
    assert_eq!(webhook["active"], true);
    assert_eq!(webhook["health"]["state"], "never_called");
    assert_eq!(webhook["health"]["consecutive_failures"], 0);
}

#[tokio::test]
async fn a_fan_out_past_what_one_transaction_writes_is_written_whole() {
    let app = local_app("1s").await;
    let mut webhooks = Vec::new();
    for n in 0..11 {
        let body = json!({"name": format!("wide {n}"), "url": format!("http://127.0.0.1:9/in/{n}"), "events": ["wide.*"]});
        webhooks.push(app.create_webhook_id(body).await);
    }
    // Switched off by hookhub, not probed for now: every delivery is written
    // paused and counted on its webhook, none is sent (11,000 requests would
    // make a slow test of what the other delivery tests show).
    app.execute(
        "UPDATE webhooks SET active = FALSE, disabled_reason = 'test', next_probe_at = 9000000000000",
        &[],
    )
    .await;
    // 11,000 deliveries: more than one transaction writes (5,000); the
    // events past them are accepted at once and fanned out after.
    let accepted = publish_numbered(&app, "wide.item", 1000).await;
    let accepted = accepted["data"].as_array().unwrap();
    assert_eq!(accepted.len(), 1000);
    assert!(accepted.iter().all(|event| event["deliveries"] == 11));
    for id in &webhooks {
        wait_until("every delivery written", WAIT, async || {
            app.webhook(id).await["health"]["paused_deliveries"] == 1000
        })
        .await;
    }
    // The fan-out is done: any delivery written twice would show now.
    app.settled().await;
    for id in &webhooks {
        let paused = &app.webhook(id).await["health"]["paused_deliveries"];
        assert_eq!(paused, 1000, "written twice");
    }
}

#[tokio::test]
async fn an_event_accepted_with_its_fan_out_pending_goes_to_the_webhooks_of_its_time() {
    let app = local_app("1s").await;
    let receiver = Receiver::start().await;
    let before = app
        .create_webhook(json!({"name": "before", "url": format!("{}/before", receiver.url), "events": ["late.*"]}))
        .await;
    // `after` is made in a later millisecond than `before` (and the event).
    tokio::time::sleep(Duration::from_millis(20)).await;
    app.create_webhook_id(
        json!({"name": "after", "url": format!("{}/after", receiver.url), "events": ["late.*"]}),
    )
    .await;
    // As a crash right after accepting would leave it: the event and its
    // `fanouts` row, no delivery yet; created when only `before` existed.
    let created = time::OffsetDateTime::parse(
        before["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let at = (created.unix_timestamp_nanos() / 1_000_000).to_string();
    app.execute(
        "INSERT INTO events (id, type, data, created_at) VALUES ($1, 'late.item', '{\"n\": 7}', CAST($2 AS BIGINT))",
        &["evt_pending", &at],
    )
    .await;
    app.execute(
        "INSERT INTO fanouts (event_id, created_at) VALUES ($1, CAST($2 AS BIGINT))",
        &["evt_pending", &at],
    )
    .await;
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received[0].path, "/before");
    assert_eq!(received[0].json()["data"]["n"], 7);
    // Its fan-out wrote every delivery it has, in one transaction.
    app.settled().await;
    let deliveries = app.admin_json("/api/deliveries?search=evt_pending").await;
    assert_eq!(
        deliveries["data"].as_array().unwrap().len(),
        1,
        "a webhook created after the event got it: {deliveries}"
    );
    assert_eq!(receiver.count(), 1);
}
