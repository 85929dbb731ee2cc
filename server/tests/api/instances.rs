//! Three real `hookhub serve` processes on one PostgreSQL database share one
//! queue: every event arrives, once without a crash; when one instance is
//! killed, the others take over its deliveries after their lease.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;

use crate::helpers::{postgres_database_if_any, wait_until};
use crate::process::{Hookhub, launch, numbers};
use crate::receiver::{Receiver, Reply};

const EVENTS: usize = 10_000;
/// Events per publishing request; the requests go to the instances in turn.
const BATCH: usize = 100;

/// Three instances started at once on the database at `url`, sharing one key.
async fn three_instances(url: &str, dir: &std::path::Path) -> Vec<Hookhub> {
    let (a, b, c) = tokio::join!(
        launch(url, dir, &[], None),
        launch(url, dir, &[], None),
        launch(url, dir, &[], None),
    );
    vec![a, b, c]
}

/// Publishes `EVENTS` numbered events, one batch to each live instance in turn.
async fn publish_round_robin(instances: &[Hookhub]) {
    for (turn, start) in (0..EVENTS).step_by(BATCH).enumerate() {
        let instance = &instances[turn % instances.len()];
        instance.publish_range(start..start + BATCH).await;
    }
}

/// Waits until every event arrived and every delivery is recorded final: a
/// send is recorded after it is made, so no other can follow.
async fn wait_until_all_delivered(url: &str, receiver: &Receiver, within: Duration) {
    wait_until("every event arrived", within, async || {
        receiver.count() >= EVENTS && numbers(receiver).len() >= EVENTS
    })
    .await;
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    wait_until("every delivery recorded succeeded", within, async || {
        let (succeeded, open): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'succeeded'),
                    count(*) FILTER (WHERE next_attempt_at IS NOT NULL)
             FROM deliveries",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        succeeded == EVENTS as i64 && open == 0
    })
    .await;
}

/// How many times each delivery (by `webhook-id`) arrived, and when first.
fn arrivals(receiver: &Receiver) -> HashMap<String, (usize, Instant)> {
    let mut arrivals: HashMap<String, (usize, Instant)> = HashMap::new();
    for received in receiver.received() {
        let id = received.header("webhook-id").unwrap().to_string();
        let entry = arrivals.entry(id).or_insert((0, received.at));
        entry.0 += 1;
        entry.1 = entry.1.min(received.at);
    }
    arrivals
}

#[tokio::test]
async fn three_instances_on_one_postgres_deliver_every_event_exactly_once() {
    let Some(url) = postgres_database_if_any().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let instances = three_instances(&url, dir.path()).await;
    instances[0]
        .post(
            "/api/webhooks",
            json!({"name": "jobs", "url": receiver.url, "events": ["job.*"]}),
        )
        .await;

    publish_round_robin(&instances).await;
    wait_until_all_delivered(&url, &receiver, Duration::from_secs(180)).await;

    assert_eq!(
        receiver.received().len(),
        EVENTS,
        "a delivery was sent twice"
    );
    assert_eq!(arrivals(&receiver).len(), EVENTS);
    // Started at once, they made one administrator between them.
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn when_one_of_three_instances_is_killed_the_others_deliver_what_it_held() {
    let Some(url) = postgres_database_if_any().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Slow enough that the kill comes while deliveries are in flight.
    let receiver = Receiver::answering(Reply::ok().after(Duration::from_millis(5))).await;
    let mut instances = three_instances(&url, dir.path()).await;
    instances[0]
        .post(
            "/api/webhooks",
            json!({"name": "jobs", "url": receiver.url, "events": ["job.*"]}),
        )
        .await;
    publish_round_robin(&instances).await;

    wait_until(
        "a fifth of the events",
        Duration::from_secs(120),
        async || receiver.count() >= EVENTS / 5,
    )
    .await;
    let mut killed = instances.pop().unwrap();
    let killed_at = Instant::now();
    killed.signal("-KILL");
    killed.child.wait().await.unwrap();
    assert!(
        numbers(&receiver).len() < EVENTS,
        "everything arrived before the kill"
    );

    // Its claims come back once their lease (2 × 2 s timeout + 5 s) ran out.
    wait_until_all_delivered(&url, &receiver, Duration::from_secs(180)).await;

    let arrivals = arrivals(&receiver);
    assert_eq!(arrivals.len(), EVENTS);
    let twice: Vec<_> = arrivals
        .iter()
        .filter(|(_, (count, _))| *count > 1)
        .collect();
    eprintln!(
        "{} of {EVENTS} deliveries arrived twice after the kill",
        twice.len()
    );
    for (id, (count, first)) in &twice {
        assert_eq!(*count, 2, "{id} arrived {count} times");
        // Sent before the kill and again after: it was in flight in the
        // killed instance. (What it wrote just before it died may be read by
        // the receiver a moment later.)
        assert!(
            *first < killed_at + Duration::from_secs(1),
            "{id} arrived twice, first {:?} after the kill",
            first.duration_since(killed_at)
        );
    }
    assert!(twice.len() <= 300, "{} arrived twice", twice.len());
}

#[tokio::test]
async fn three_instances_keep_200_keys_in_order_through_random_first_attempt_failures() {
    let Some(url) = postgres_database_if_any().await else {
        return;
    };
    const KEYS: usize = 200;
    const ROUNDS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    receiver.fail_first(10);
    let instances = three_instances(&url, dir.path()).await;
    instances[0]
        .post(
            "/api/webhooks",
            json!({"name": "ordered", "url": receiver.url, "events": ["job.*"], "retry_schedule": ["1s"]}),
        )
        .await;
    // Each round publishes the next event of every key, to the instances in turn.
    for round in 0..ROUNDS {
        let events: Vec<_> = (0..KEYS)
            .map(|key| {
                json!({"type": "job.run", "ordering_key": format!("key/{key}"),
                    "data": {"n": round * KEYS + key, "key": key, "round": round}})
            })
            .collect();
        instances[round % 3]
            .post("/api/events", json!({"events": events}))
            .await;
    }
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    wait_until(
        "every delivery succeeded",
        Duration::from_secs(180),
        async || {
            let succeeded: i64 =
                sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE status = 'succeeded'")
                    .fetch_one(&mut db)
                    .await
                    .unwrap();
            succeeded == (KEYS * ROUNDS) as i64
        },
    )
    .await;

    let received = receiver.received();
    let retried = received.len() - KEYS * ROUNDS;
    eprintln!("{retried} first attempts failed and were tried again");
    assert!(retried > 0, "no first attempt failed");
    assert_eq!(numbers(&receiver).len(), KEYS * ROUNDS, "an event was lost");
    let mut rounds: HashMap<u64, Vec<u64>> = HashMap::new();
    for arrival in &received {
        let data = arrival.json()["data"].clone();
        rounds
            .entry(data["key"].as_u64().unwrap())
            .or_default()
            .push(data["round"].as_u64().unwrap());
    }
    for (key, rounds) in rounds {
        assert!(
            rounds.windows(2).all(|pair| pair[0] <= pair[1]),
            "key/{key} arrived out of order: {rounds:?}"
        );
    }
}
