//! The workers' step driven by hand: a store and a `Deliverer` with no
//! workers running, one claim → send → record round at a time, so that
//! "nothing more is sent" is a round that sends nothing rather than a wait.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use hookhub::config::RetrySchedule;
use hookhub::delivery::send::PrivateTargets;
use hookhub::delivery::{Deliverer, Settings};
use hookhub::model::{DeliveryMethod, DeliveryStatus, Role};
use hookhub::security::Cipher;
use hookhub::store::{
    DeliveryFilter, NewEvent, NewUser, Sealed, Store, StoredAuth, WebhookSettings,
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
