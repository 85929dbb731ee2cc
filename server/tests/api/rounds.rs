//! The workers' step driven by hand: a store and a `Deliverer` with no
//! workers running, one claim → send → record round at a time, so that
//! "nothing more is sent" is a round that sends nothing rather than a wait.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use hookhub::config::RetrySchedule;
use hookhub::delivery::send::PrivateTargets;
use hookhub::delivery::{Deliverer, Settings};
use hookhub::model::{AttemptRequest, DeliveryMethod, DeliveryStatus, Role};
use hookhub::security::Cipher;
use hookhub::store::{
    AttemptKind, AttemptRecord, BodySource, DeliveryFilter, Lease, NewEvent, NewUser, Next,
    Outcome, Sealed, Store, StoredAuth, SwitchOff, WebhookSettings,
};
use serde_json::json;

use crate::receiver::{Receiver, Reply};

struct Bench {
    store: Store,
    deliverer: Deliverer,
    webhook_id: String,
    _dir: tempfile::TempDir,
}

/// A store with one webhook to `receiver`, retried immediately `retries`
/// times, switched off after failing for `disable_after`.
async fn bench(receiver: &Receiver, retries: usize, disable_after: Duration) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::new_database(dir.path()).await;
    let store = hookhub::store::open(&url).await.unwrap();
    let cipher = Cipher::new(&[7; 32]);
    let author = NewUser {
        username: "admin",
        password_hash: "not used",
        role: Role::Admin,
    };
    let author_id = store.create_user(author).await.unwrap().unwrap();
    let settings = WebhookSettings {
        name: "receiver".into(),
        url: receiver.url.clone(),
        events: vec!["ticket.*".into()],
        active: true,
        method: DeliveryMethod::Post,
        auth: StoredAuth::None,
        data_location: None,
        headers: BTreeMap::new(),
        filter: None,
        rate_limit: None,
        retry_schedule: None,
    };
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([1u8; 32])
    );
    let webhook = store
        .create_webhook(&settings, &author_id, &Sealed(cipher.seal(&secret)))
        .await
        .unwrap();
    let settings = Settings {
        schedule: RetrySchedule(vec![Duration::ZERO; retries]),
        probes: RetrySchedule(vec![Duration::from_secs(3600)]),
        timeout: Duration::from_secs(5),
        disable_after,
        private: PrivateTargets::Allow,
    };
    Bench {
        deliverer: Deliverer::new(store.clone(), cipher, settings, Default::default()),
        store,
        webhook_id: webhook.id,
        _dir: dir,
    }
}

fn ticket(n: u64) -> NewEvent {
    NewEvent {
        event_type: "ticket.create".into(),
        data: json!({"n": n}),
        change: None,
        idempotency_key: None,
        ordering_key: None,
        about_webhook: None,
    }
}

impl Bench {
    async fn publish(&self) {
        self.store.publish(vec![ticket(1)]).await.unwrap();
    }

    /// Attempts made by each round until one makes none, and that one.
    async fn rounds_until_quiet(&self) -> Vec<usize> {
        let mut rounds = Vec::new();
        loop {
            let attempts = self.deliverer.round().await.unwrap();
            rounds.push(attempts);
            if attempts == 0 || rounds.len() > 10 {
                return rounds;
            }
        }
    }

    /// Attempts logged of `lease`'s delivery.
    async fn attempts(&self, lease: &Lease) -> usize {
        let attempts = self.store.attempts(&lease.delivery_id).await.unwrap();
        attempts.len()
    }

    async fn only_delivery_status(&self) -> DeliveryStatus {
        let deliveries = self
            .store
            .deliveries(&DeliveryFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(deliveries.len(), 1);
        deliveries[0].status
    }
}

#[tokio::test]
async fn a_failing_delivery_is_tried_to_the_end_of_its_schedule_then_never_again() {
    let receiver = Receiver::answering(Reply::status(503)).await;
    let bench = bench(&receiver, 2, Duration::from_secs(3600)).await;
    bench.publish().await;
    assert_eq!(bench.rounds_until_quiet().await, [1, 1, 1, 0]);
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(bench.only_delivery_status().await, DeliveryStatus::Failed);
    let webhook = bench.store.webhook(&bench.webhook_id).await.unwrap();
    assert_eq!(webhook.unwrap().consecutive_failures, 3);
}

/// Oldest first: what waited goes out in the order it was published, a
/// batch's events (created in the same millisecond) in their order too.
#[tokio::test]
async fn a_webhook_back_on_sends_what_waited_oldest_first() {
    let receiver = Receiver::answering(Reply::status(500)).await;
    let bench = bench(&receiver, 5, Duration::ZERO).await;
    bench.store.publish(vec![ticket(0)]).await.unwrap();
    assert_eq!(bench.rounds_until_quiet().await, [1, 0], "switched off");
    bench
        .store
        .publish((1..=20).map(ticket).collect())
        .await
        .unwrap();
    for n in 21..=25 {
        bench.store.publish(vec![ticket(n)]).await.unwrap();
    }
    receiver.answer(Reply::ok());
    let released = bench.store.switch_back_on(&bench.webhook_id).await.unwrap();
    assert_eq!(released, Some(26));
    // A round sends one attempt at a time, in the order they were claimed.
    assert_eq!(bench.rounds_until_quiet().await, [26, 0]);
    let order: Vec<u64> = receiver.received()[1..]
        .iter()
        .map(|request| request.json()["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(order, (0..=25).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_success_ends_the_retries() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let bench = bench(&receiver, 5, Duration::from_secs(3600)).await;
    bench.publish().await;
    assert_eq!(bench.rounds_until_quiet().await, [1, 1, 0]);
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(
        bench.only_delivery_status().await,
        DeliveryStatus::Succeeded
    );
}

#[tokio::test]
async fn a_webhook_switched_off_by_its_failures_is_sent_nothing_more_while_its_deliveries_wait() {
    let receiver = Receiver::answering(Reply::status(500)).await;
    let bench = bench(&receiver, 5, Duration::ZERO).await;
    bench.publish().await;
    assert_eq!(bench.rounds_until_quiet().await, [1, 0]);
    let webhook = bench.store.webhook(&bench.webhook_id).await.unwrap();
    let webhook = webhook.unwrap();
    assert!(!webhook.settings.active);
    assert!(webhook.disabled_reason.is_some());
    // Published while it is off: recorded, paused, like the one that was retrying.
    bench.publish().await;
    assert_eq!(bench.rounds_until_quiet().await, [0]);
    assert_eq!(receiver.received().len(), 1);
    let deliveries = bench
        .store
        .deliveries(&DeliveryFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Paused)
    );
}

/// An attempt of `lease`'s delivery that `succeeded` or failed for good.
fn outcome(bench: &Bench, lease: &Lease, succeeded: bool) -> Outcome {
    let (next, error_class) = match succeeded {
        true => (Next::Succeeded, None),
        false => (Next::Failed, Some("http-status".to_string())),
    };
    Outcome {
        attempt: AttemptRecord {
            delivery_id: lease.delivery_id.clone(),
            webhook_id: bench.webhook_id.clone(),
            started_at: hookhub::time::now_ms(),
            duration_ms: 1,
            request: AttemptRequest {
                method: "POST".into(),
                url: "http://127.0.0.1/stalled".into(),
                headers: BTreeMap::new(),
                body: "{}".into(),
            },
            body_source: BodySource::Stored,
            response: None,
            error_class,
            error: None,
        },
        lease_until: lease.until,
        next,
        error_in_words: None,
        gone: false,
        kind: AttemptKind::Scheduled,
        ordering_key: None,
    }
}

/// Worker A claims a delivery and stalls past its lease; worker B (another
/// instance, or the same after a hiccup) claims it again. A, waking up,
/// can neither hand it back, nor set it aside, nor record its outcome over
/// B's claim: only B's counts. A's attempt stays in the log, as it was sent.
#[tokio::test]
async fn a_worker_stalled_past_its_lease_cannot_undo_the_claim_of_the_one_that_took_over() {
    let receiver = Receiver::start().await;
    let bench = bench(&receiver, 3, Duration::from_secs(3600)).await;
    bench.publish().await;
    let now = hookhub::time::now_ms();
    let due = bench.store.due_deliveries(&[], 10).await.unwrap();
    let ids: Vec<String> = due.into_iter().map(|d| d.id).collect();
    let stalled = bench.store.claim(&ids, now + 20).await.unwrap();
    assert_eq!(stalled.len(), 1);
    let stalled = stalled[0].lease();

    tokio::time::sleep(Duration::from_millis(50)).await;
    let now = hookhub::time::now_ms();
    let taken_over = bench.store.claim(&ids, now + 60_000).await.unwrap();
    assert_eq!(taken_over.len(), 1, "the lapsed lease is claimed again");
    let current = taken_over[0].lease();

    bench
        .store
        .release(std::slice::from_ref(&stalled))
        .await
        .unwrap();
    bench.store.set_aside(&stalled, "stalled").await.unwrap();
    let switch_off = SwitchOff {
        failing_since_before: 0,
        first_probe_at: 0,
    };
    let late = outcome(&bench, &stalled, false);
    bench.store.record(&[late], switch_off).await.unwrap();
    assert!(
        bench
            .store
            .due_deliveries(&[], 10)
            .await
            .unwrap()
            .is_empty(),
        "still held by the worker that took over"
    );
    assert_eq!(bench.only_delivery_status().await, DeliveryStatus::Pending);
    assert_eq!(
        bench.attempts(&current).await,
        1,
        "the late attempt is logged"
    );

    let on_time = outcome(&bench, &current, true);
    bench.store.record(&[on_time], switch_off).await.unwrap();
    assert_eq!(
        bench.only_delivery_status().await,
        DeliveryStatus::Succeeded
    );
    assert_eq!(bench.attempts(&current).await, 2);
}
