//! `/metrics` as a Prometheus scraper reads it: behind the administrator's
//! token on the main listener, open on `--metrics-listen`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, TestApp, assert_error, spawn_app_with, wait_for};
use crate::receiver::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(10);

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut sum = 0.0;
    let mut found = false;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').expect("a sample line");
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let has = |(key, value): &(&str, &str)| {
            series_labels
                .split(',')
                .any(|pair| pair == format!("{key}=\"{value}\""))
        };
        if series_name == name && labels.iter().all(has) {
            sum += value.parse::<f64>().expect("a number");
            found = true;
        }
    }
    assert!(found, "no {name} {labels:?} in\n{text}");
    sum
}

async fn scrape(app: &TestApp) -> String {
    let response = app.admin(Method::GET, "/metrics", None).await;
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().unwrap();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    response.text().await.unwrap()
}

/// Waits until `check` holds for a scrape, and returns it; panics after `WAIT`.
async fn scrape_until(app: &TestApp, check: impl Fn(&str) -> bool) -> String {
    wait_for("a scrape that holds", WAIT, async || {
        Some(scrape(app).await).filter(|text| check(text))
    })
    .await
}

#[tokio::test]
async fn metrics_need_an_administrator_and_count_deliveries_requests_and_trigger_calls() {
    let app = spawn_app_with(&["--allow-private-targets", "--retry-schedule=1h"]).await;
    assert_error(
        app.request(Method::GET, "/metrics", None, None).await,
        401,
        "unauthorized",
    )
    .await;
    let viewer = json!({"username": "vic", "password": "long-enough-pw", "role": "viewer"});
    assert_eq!(
        app.admin(Method::POST, "/api/users", Some(viewer))
            .await
            .status(),
        201
    );
    let login = json!({"username": "vic", "password": "long-enough-pw"});
    let session: Value = app
        .request(Method::POST, "/api/session", None, Some(login))
        .await
        .json()
        .await
        .unwrap();
    let viewer_token = session["data"]["token"].as_str().unwrap();
    assert_error(
        app.request(Method::GET, "/metrics", Some(viewer_token), None)
            .await,
        403,
        "forbidden",
    )
    .await;

    let healthy = Receiver::start().await;
    let failing = Receiver::answering(Reply::status(500)).await;
    let good = app
        .create_webhook(json!({"name": "good", "url": healthy.url, "events": ["ticket.*"]}))
        .await;
    app.create_webhook(json!({"name": "bad", "url": failing.url, "events": ["ticket.*"]}))
        .await;
    for n in 0..3 {
        app.publish("ticket.create", json!({"n": n})).await;
    }
    healthy.wait_for(3, WAIT).await;
    failing.wait_for(3, WAIT).await;
    // Attempts are counted as they end, and recorded a moment later.
    let text = scrape_until(&app, |text| {
        text.contains("hookhub_deliveries_total{outcome=\"retrying\"} 3")
            && text.contains("hookhub_deliveries_total{outcome=\"succeeded\"} 3")
            && text.contains("hookhub_queue_depth{status=\"retrying\"} 3")
    })
    .await;
    let durations = "hookhub_delivery_attempt_duration_seconds_count";
    assert_eq!(sample(&text, durations, &[("class", "success")]), 3.0);
    assert_eq!(sample(&text, durations, &[("class", "http-status")]), 3.0);
    // The failed deliveries wait an hour for their retry: queued, not yet due.
    assert_eq!(
        sample(&text, "hookhub_queue_depth", &[("status", "retrying")]),
        3.0
    );
    assert_eq!(
        sample(&text, "hookhub_queue_depth", &[("status", "pending")]),
        0.0
    );
    assert_eq!(
        sample(&text, "hookhub_queue_depth", &[("status", "paused")]),
        0.0
    );
    assert_eq!(
        sample(&text, "hookhub_oldest_due_delivery_age_seconds", &[]),
        0.0
    );

    // Requests count under their route's template, whatever the path was.
    let id = good["id"].as_str().unwrap();
    app.webhook(id).await;
    app.admin(Method::GET, "/api/no/such/route", None).await;
    let text = scrape(&app).await;
    let requests = "hookhub_api_requests_total";
    let route = |route| [("method", "GET"), ("route", route), ("status", "200")];
    assert_eq!(sample(&text, requests, &route("/api/webhooks/{id}")), 1.0);
    assert_eq!(
        sample(
            &text,
            requests,
            &[
                ("method", "POST"),
                ("route", "/api/events"),
                ("status", "202")
            ]
        ),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            requests,
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    assert!(!text.contains(id), "a raw path became a label");
    assert!(!text.contains(ADMIN_TOKEN));

    // Trigger calls by outcome.
    let trigger: Value = app
        .admin(
            Method::POST,
            "/api/triggers",
            Some(json!({"name": "t", "auth": {"type": "bearer"}, "event_type": "ticket.create"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let trigger_id = trigger["data"]["id"].as_str().unwrap();
    let hook_url = trigger["data"]["hook_url"].as_str().unwrap();
    let token: Value = app
        .admin(
            Method::POST,
            &format!("/api/triggers/{trigger_id}/token"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let token = token["data"]["token"].as_str().unwrap();
    let client = reqwest::Client::new();
    for bearer in [token, "hht_wrong"] {
        client
            .post(hook_url)
            .bearer_auth(bearer)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
    }
    let text = scrape(&app).await;
    let calls = "hookhub_trigger_calls_total";
    assert_eq!(sample(&text, calls, &[("outcome", "accepted")]), 1.0);
    assert_eq!(sample(&text, calls, &[("outcome", "unauthorized")]), 1.0);
    assert!(!text.contains(token));
}

#[tokio::test]
async fn deliveries_waiting_behind_a_stalled_receiver_show_as_pending_and_aging() {
    let app = spawn_app_with(&["--allow-private-targets", "--delivery-timeout=5s"]).await;
    let stalled = Receiver::answering(Reply::ok().after(Duration::from_secs(4))).await;
    app.create_webhook(json!({"name": "slow", "url": stalled.url, "events": ["*"]}))
        .await;
    // Sixteen in flight to one webhook at most: the other four wait, due.
    for n in 0..20 {
        app.publish("ticket.create", json!({"n": n})).await;
    }
    stalled.wait_for(16, WAIT).await;
    let text = scrape_until(&app, |text| {
        sample(text, "hookhub_oldest_due_delivery_age_seconds", &[]) >= 1.0
    })
    .await;
    assert_eq!(
        sample(&text, "hookhub_queue_depth", &[("status", "pending")]),
        20.0
    );
}

#[tokio::test]
async fn metrics_listen_serves_metrics_without_a_token_and_nothing_else() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(&[&format!("--metrics-listen=127.0.0.1:{port}")]).await;
    app.publish("ticket.create", json!({})).await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE hookhub_queue_depth gauge"), "{text}");
    assert!(text.ends_with("# EOF\n"));
    // The same counters as the main listener's /metrics.
    let requests = "hookhub_api_requests_total";
    let published = [("route", "/api/events"), ("status", "202")];
    assert_eq!(sample(&text, requests, &published), 1.0);
    // The API is not there.
    let api = client
        .get(format!("http://127.0.0.1:{port}/api/webhooks"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(api, 404, "not_found").await;
    // Still behind the token on the main listener.
    assert_eq!(
        app.request(Method::GET, "/metrics", None, None)
            .await
            .status(),
        401
    );
}
