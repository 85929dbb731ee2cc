//! Nothing is lost while hookhub has a webhook switched off: its events make
//! paused deliveries, probes look for the receiver's return, and recovery
//! (a probe's 2xx or an administrator's `active: true`) sends each paused
//! delivery once, oldest first.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app_with, wait_until};
use crate::receiver::{Received, Receiver, Reply};

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let page = app
        .admin_json(&format!("/api/deliveries?limit=200&{query}"))
        .await;
    page["data"].as_array().unwrap().clone()
}

/// The operator events of one type that reached `receiver`.
fn told(receiver: &Receiver, event_type: &str) -> Vec<Value> {
    receiver
        .received()
        .iter()
        .map(Received::json)
        .filter(|body| body["type"] == event_type)
        .collect()
}

fn is_test(request: &Received) -> bool {
    request.json()["type"] == "webhook.test"
}

#[tokio::test]
async fn an_outage_pauses_deliveries_and_the_first_good_probe_sends_each_once() {
    let app = spawn_app_with(&[
        "--allow-private-targets",
        "--retry-schedule=300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms",
        "--disable-after=500ms",
        "--probe-schedule=1s",
    ])
    .await;
    let ops = Receiver::start().await;
    app.create_webhook(json!({"name": "ops chat", "url": ops.url, "events": ["hookhub.*"]}))
        .await;
    let receiver = Receiver::answering(Reply::status(503)).await;
    let id = app
        .create_webhook_id(json!({"name": "orders", "url": receiver.url, "events": ["order.*"]}))
        .await;

    // The first event fails until hookhub switches the webhook off.
    app.publish("order.create", json!({"n": 0})).await;
    wait_until("the switch-off", Duration::from_secs(15), async || {
        app.webhook(&id).await["health"]["disabled_reason"].is_string()
    })
    .await;

    // Events published during the outage are recorded, paused, never sent.
    let outage = 30;
    for n in 1..=outage {
        let accepted = app.publish("order.create", json!({"n": n})).await;
        assert_eq!(accepted["deliveries"], 1, "a paused delivery counts");
    }
    let paused = deliveries(&app, &format!("webhook_id={id}&status=paused")).await;
    assert_eq!(
        paused.len(),
        outage + 1,
        "the first event's delivery waits too"
    );
    assert!(paused.iter().all(|d| d["next_attempt_at"].is_null()));
    let health = &app.webhook(&id).await["health"];
    assert_eq!(health["paused_deliveries"], outage + 1);
    let metrics = app
        .admin(Method::GET, "/metrics", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "hookhub_queue_depth{{status=\"paused\"}} {}",
            outage + 1
        )),
        "{metrics}"
    );
    assert!(health["next_probe_at"].is_string(), "{health}");

    // Probes find the receiver still down: logged as probes, nothing released.
    let probes_query = format!("webhook_id={id}&event_type=webhook.test");
    wait_until(
        "a failed probe in the logs",
        Duration::from_secs(10),
        async || {
            let probes = deliveries(&app, &probes_query).await;
            probes.iter().any(|d| d["status"] == "failed")
        },
    )
    .await;
    let probes = deliveries(&app, &probes_query).await;
    assert!(probes.iter().all(|d| d["probe"] == true), "{probes:#?}");
    let sent_before = receiver.received();
    assert!(
        sent_before
            .iter()
            .filter(|r| !is_test(r))
            .all(|r| r.json()["data"]["n"] == 0),
        "no paused delivery was attempted"
    );

    // The receiver is back: the next probe switches the webhook on and
    // every paused delivery goes out once. (Oldest first, they are sent side
    // by side, 16 at a time: their arrival order is the network's. The order
    // they go out in is `rounds::a_webhook_back_on_sends_what_waited_oldest_first`.)
    receiver.answer(Reply::ok());
    wait_until("the recovery", Duration::from_secs(15), async || {
        receiver.received()[sent_before.len()..]
            .iter()
            .filter(|r| !is_test(r))
            .count()
            > outage
    })
    .await;
    app.settled().await;
    let after: Vec<Received> = receiver.received()[sent_before.len()..]
        .iter()
        .filter(|r| !is_test(r))
        .cloned()
        .collect();
    let mut times_sent: HashMap<String, usize> = HashMap::new();
    for request in &after {
        *times_sent
            .entry(request.header("webhook-id").unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(times_sent.len(), outage + 1);
    assert!(
        times_sent.values().all(|&times| times == 1),
        "{times_sent:?}"
    );
    let health = &app.webhook(&id).await;
    assert_eq!(health["active"], true);
    assert!(health["health"]["disabled_reason"].is_null());
    assert_eq!(health["health"]["paused_deliveries"], 0);
    assert!(health["health"]["next_probe_at"].is_null());

    // The chat heard of both ends of the outage.
    wait_until("the recovery told", Duration::from_secs(10), async || {
        !told(&ops, "hookhub.webhook_recovered").is_empty()
    })
    .await;
    let disabled = told(&ops, "hookhub.webhook_disabled");
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0]["data"]["webhook_id"], id.as_str());
    let recovered = told(&ops, "hookhub.webhook_recovered");
    assert_eq!(recovered.len(), 1);
    assert_eq!(
        recovered[0]["data"],
        json!({"webhook_id": id, "name": "orders", "released": outage + 1})
    );
}

#[tokio::test]
async fn an_administrator_switching_on_releases_at_once_and_switching_off_stops_recording() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let ops = Receiver::start().await;
    app.create_webhook(json!({"name": "ops chat", "url": ops.url, "events": ["hookhub.*"]}))
        .await;
    let receiver = Receiver::answering(Reply::status(410)).await;
    let id = app
        .create_webhook_id(json!({"name": "orders", "url": receiver.url, "events": ["order.*"]}))
        .await;
    app.publish("order.create", json!({"n": 0})).await;
    wait_until("the 410 switch-off", Duration::from_secs(10), async || {
        app.webhook(&id).await["health"]["disabled_reason"] == "the receiver answered 410 Gone"
    })
    .await;
    for n in 1..=3 {
        app.publish("order.create", json!({"n": n})).await;
    }
    let paused = deliveries(&app, &format!("webhook_id={id}&status=paused")).await;
    assert_eq!(
        paused.len(),
        3,
        "the 410's own delivery failed; the rest wait"
    );
    // A viewer, who may not read webhooks, sees it by name and health
    // beside the logs: switched off, why, and what waits; not where it points.
    let viewer = app.viewer_token("vera").await;
    let seen: Value = app
        .request(Method::GET, "/api/deliveries/webhooks", Some(&viewer), None)
        .await
        .json()
        .await
        .unwrap();
    let orders = seen["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id.as_str())
        .unwrap();
    assert_eq!(orders["name"], "orders");
    assert_eq!(orders["active"], false);
    assert_eq!(orders["health"]["state"], "disabled");
    assert_eq!(
        orders["health"]["disabled_reason"],
        "the receiver answered 410 Gone"
    );
    assert_eq!(orders["health"]["paused_deliveries"], 3);
    assert!(orders.get("url").is_none() && orders.get("auth").is_none());
    // What the console's sidebar counts.
    let attention = app.admin_json("/api/attention").await;
    assert_eq!(
        attention["data"],
        json!({"disabled_webhooks": 1, "failed_deliveries": 1})
    );
    let redeliver = format!(
        "/api/deliveries/{}/redeliver",
        paused[0]["id"].as_str().unwrap()
    );
    assert_error(
        app.admin(Method::POST, &redeliver, None).await,
        409,
        "conflict",
    )
    .await;

    // Editing something else leaves it switched off, its deliveries paused.
    receiver.answer(Reply::ok());
    let rename = json!({"name": "orders (v2)"});
    let response = app
        .admin(Method::PATCH, &format!("/api/webhooks/{id}"), Some(rename))
        .await;
    assert_eq!(response.status(), 204);
    let webhook = app.webhook(&id).await;
    assert_eq!(webhook["active"], false);
    assert_eq!(webhook["health"]["paused_deliveries"], 3);

    let on = json!({"active": true});
    let response = app
        .admin(Method::PATCH, &format!("/api/webhooks/{id}"), Some(on))
        .await;
    assert_eq!(response.status(), 204);
    let arrived = receiver.wait_for(4, Duration::from_secs(10)).await;
    // Sent side by side (their order: `rounds::a_webhook_back_on_sends_what_waited_oldest_first`).
    let mut numbers: Vec<u64> = arrived[1..]
        .iter()
        .map(|r| r.json()["data"]["n"].as_u64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3]);
    wait_until("the recovery told", Duration::from_secs(10), async || {
        !told(&ops, "hookhub.webhook_recovered").is_empty()
    })
    .await;
    let recovered = &told(&ops, "hookhub.webhook_recovered")[0]["data"];
    assert_eq!(recovered["name"], "orders (v2)");
    assert_eq!(recovered["released"], 3);
    let attention = app.admin_json("/api/attention").await;
    assert_eq!(attention["data"]["disabled_webhooks"], 0);

    // Gone again, then switched off by the administrator: no more probes,
    // no more deliveries recorded.
    receiver.answer(Reply::status(410));
    app.publish("order.create", json!({"n": 4})).await;
    wait_until(
        "the second switch-off",
        Duration::from_secs(10),
        async || app.webhook(&id).await["health"]["disabled_reason"].is_string(),
    )
    .await;
    let off = json!({"active": false});
    let response = app
        .admin(Method::PATCH, &format!("/api/webhooks/{id}"), Some(off))
        .await;
    assert_eq!(response.status(), 204);
    let webhook = app.webhook(&id).await;
    assert!(webhook["health"]["disabled_reason"].is_null());
    assert!(webhook["health"]["next_probe_at"].is_null());
    let accepted = app.publish("order.create", json!({"n": 5})).await;
    assert_eq!(accepted["deliveries"], 0);
}

/// SQLite rebuilds `deliveries` to let it hold paused ones: what an earlier
/// version stored, attempts included, comes through.
#[tokio::test]
async fn the_upgrade_that_rebuilds_deliveries_keeps_them_and_their_attempts() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/upgrade.db?mode=rwc", dir.path().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut db)
        .await
        .unwrap();
    let mut earlier = sqlx::migrate!("./migrations");
    let rebuild = earlier
        .iter()
        .position(|m| m.description.contains("paused"))
        .unwrap();
    earlier.migrations = earlier.migrations[..rebuild].to_vec().into();
    earlier.run(&mut db).await.unwrap();
    for statement in [
        "INSERT INTO users (id, username, password_hash, role, created_at)
         VALUES ('usr_1', 'admin', 'x', 'admin', 0)",
        "INSERT INTO webhooks (id, name, url, events, active, method, auth_type, headers, secret,
             author_id, created_at, updated_at, disabled_reason)
         VALUES ('wh_1', 'w', 'https://example.com', '[\"*\"]', 0, 'POST', 'none', '{}', x'00',
             'usr_1', 0, 0, 'the receiver answered 410 Gone')",
        "INSERT INTO events (id, type, data, created_at) VALUES ('evt_1', 'a.create', '{}', 0)",
        "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, attempt_count,
             created_at, updated_at)
         VALUES ('dlv_1', 'wh_1', 'evt_1', 'a.create', 'failed', 1, 0, 0)",
        "INSERT INTO attempts (delivery_id, webhook_id, succeeded, started_at, duration_ms,
             request_method, request_url, request_headers, request_body)
         VALUES ('dlv_1', 'wh_1', 0, 0, 5, 'POST', 'https://example.com', '{}', '{}')",
    ] {
        sqlx::query(statement).execute(&mut db).await.unwrap();
    }
    db.close().await.unwrap();
    let store = hookhub::store::open(&url).await.unwrap();
    store.close().await;
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();

    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "the rebuild did not take the attempts with it");
    let (status, probe): (String, bool) =
        sqlx::query_as("SELECT status, probe FROM deliveries WHERE id = 'dlv_1'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!((status.as_str(), probe), ("failed", false));
    sqlx::query("UPDATE deliveries SET status = 'paused'")
        .execute(&mut db)
        .await
        .unwrap();
    let probe_due: Option<i64> = sqlx::query_scalar("SELECT next_probe_at FROM webhooks")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(
        probe_due.is_some(),
        "a webhook switched off by hookhub is probed"
    );
    let violations = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert!(violations.is_empty());
}
