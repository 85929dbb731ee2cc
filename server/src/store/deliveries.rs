//! The queue seen from the workers: claim due deliveries under a lease, load
//! what sending needs, record outcomes in batches.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use super::Sealed;
use crate::events::{Event, payload};
use crate::model::{AttemptRequest, AttemptResponse};

/// A claimed delivery and the event it carries.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: String,
    pub webhook_id: String,
    /// Attempts made before this one.
    pub attempt_count: u32,
    /// Redelivered by hand: this attempt is not retried on the schedule.
    pub single_attempt: bool,
    /// Its event's ordering key: when it ends, the next of its key goes.
    pub ordering_key: Option<String>,
    /// Until when the claim holds (Unix milliseconds): an attempt must end before.
    pub lease_until: i64,
    /// Shared by the deliveries of one event: a fan-out holds one copy of it.
    pub event: Arc<Event>,
    /// The event's data as stored, in bytes: what holding this job is counted to cost.
    pub bytes: usize,
}

impl Job {
    /// The lease this job is held under.
    pub fn lease(&self) -> Lease {
        Lease {
            delivery_id: self.delivery_id.clone(),
            until: self.lease_until,
        }
    }
}

/// A claim on a delivery: its id and when the claim's lease ends. The end
/// tells one claim from the next: a delivery is claimed again only once its
/// lease has run out, so a later claim's lease always ends later. Giving a
/// delivery back, setting it aside and recording its attempt take effect only
/// while the delivery is still held under this lease, so that a worker
/// stalled past its lease cannot undo the claim of the one that took over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub delivery_id: String,
    pub until: i64,
}

/// A delivery due now that nobody holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub id: String,
    pub webhook_id: String,
    /// Its event's data as stored, in bytes.
    pub bytes: usize,
    /// Its webhook's deliveries a second at most.
    pub rate_limit: Option<u32>,
}

/// A `rate_limit` column as stored.
pub(super) fn rate_limit(column: Option<i64>) -> Option<u32> {
    column.and_then(|limit| u32::try_from(limit).ok())
}

/// A webhook's signing secrets: the current one and, during a rotation, the previous.
#[derive(Debug, Clone)]
pub struct SigningSecrets {
    pub current: Sealed,
    pub previous: Option<Sealed>,
}

/// One attempt, as recorded.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: String,
    pub webhook_id: String,
    pub started_at: i64,
    pub duration_ms: u64,
    /// As sent; its body is empty while it is `BodySource::Event`, until
    /// `render_body` fills it in.
    pub request: AttemptRequest,
    pub body_source: BodySource,
    pub response: Option<AttemptResponse>,
    pub error_class: Option<String>,
    pub error: Option<String>,
}

/// Where an attempt's request body is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySource {
    /// The delivery's event shaped with this data location: rendered again
    /// when shown, so that a large event is stored once, not per attempt.
    Event { data_location: Option<String> },
    /// In `request.body` (attempts recorded before; empty once dropped by retention).
    Stored,
}

impl AttemptRecord {
    pub fn succeeded(&self) -> bool {
        self.error_class.is_none()
    }

    /// Fills in a body kept as a reference to `event`, the delivery's event:
    /// shaped as it was for this attempt, byte for byte what was sent.
    pub fn render_body(&mut self, event: &Event) {
        if let BodySource::Event { data_location } = &self.body_source {
            self.request.body = payload(event, data_location.as_deref()).to_string();
        }
    }
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Succeeded,
    RetryAt(i64),
    Failed,
}

impl Next {
    /// The delivery's status after it, which the logs and metrics also
    /// call the attempt's outcome: `succeeded`, `retrying` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Next::Succeeded => "succeeded",
            Next::RetryAt(_) => "retrying",
            Next::Failed => "failed",
        }
    }

    /// When the delivery is due again, if it is.
    pub fn retry_at(&self) -> Option<i64> {
        match self {
            Next::RetryAt(at) => Some(*at),
            Next::Succeeded | Next::Failed => None,
        }
    }
}

/// Why an attempt is made: it decides whether a failure is retried on the
/// schedule, whether an inactive webhook is sent to, and what the attempt
/// tells of the webhook's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptKind {
    /// From the outbox: retried; skipped once the webhook is switched off;
    /// running out of retries is told (`hookhub.delivery_failed`).
    Scheduled,
    /// Redeliver by hand: one attempt; skipped once the webhook is switched off.
    Redelivery,
    /// Test: one attempt, sent even to an inactive webhook. It leaves the
    /// webhook's health alone: a test of a webhook that never had an event
    /// must not switch it off.
    Test,
    /// Probe of a webhook hookhub switched off: one attempt, whose success
    /// switches it back on.
    Probe,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub attempt: AttemptRecord,
    /// The lease its delivery was sent under: the delivery's new state is
    /// recorded only while that lease holds (see `Lease`).
    pub lease_until: i64,
    pub next: Next,
    /// The failure in a few words, as the delivery and its webhook show it
    /// (the attempt keeps the whole message); `None` after a success.
    pub error_in_words: Option<String>,
    /// The receiver asked to be switched off (`410 Gone`): the webhook is, at once.
    pub gone: bool,
    pub kind: AttemptKind,
    /// Its delivery's ordering key.
    pub ordering_key: Option<String>,
}

/// The deliveries not yet finished, by status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub pending: u64,
    pub retrying: u64,
    pub paused: u64,
    /// When the delivery due first is (or was) due, Unix ms; in the future if none is due yet.
    pub oldest_due_at: Option<i64>,
}

/// The queue as each database runs it: claims, leases and outcomes, where
/// PostgreSQL's instances skip each other's rows and SQLite's one process
/// writes alone. Implemented in each backend's `queue.rs`.
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync {
    /// Due, unleased deliveries, oldest due first, skipping `busy_webhooks`
    /// (those already at their concurrency limit) so that they cannot crowd
    /// out the rest, nor their backlog be read.
    async fn due_deliveries(
        &self,
        busy_webhooks: &[String],
        limit: usize,
    ) -> anyhow::Result<Vec<DueDelivery>>;

    /// Leases those of `ids` that nobody else holds; returns the jobs won.
    async fn claim(&self, ids: &[String], lease_until: i64) -> anyhow::Result<Vec<Job>>;

    /// How many instances share the queue, this one included (at least 1).
    async fn instances(&self) -> anyhow::Result<usize>;

    /// Gives claimed deliveries back, e.g. on shutdown: those still held under these leases.
    async fn release(&self, leases: &[Lease]) -> anyhow::Result<()>;

    /// Records attempts and their consequences in one transaction: the
    /// deliveries' new state (of those still held under the outcome's
    /// lease; an attempt made after its lease ran out is kept in the log
    /// only), the webhooks' health, and switching off a webhook as
    /// `switch_off` says (its waiting deliveries then pause).
    /// Returns the webhooks it switched off.
    async fn record(
        &self,
        outcomes: &[Outcome],
        switch_off: SwitchOff,
    ) -> anyhow::Result<Vec<String>>;
}

/// What the workers ask beside claims and outcomes: secrets, tests, probes,
/// deliveries set aside. Written once, in `sql/deliveries.rs`.
#[async_trait::async_trait]
pub trait DeliveryStore: Send + Sync {
    /// The signing secrets in force now.
    async fn signing_secrets(&self, webhook_id: &str) -> anyhow::Result<Option<SigningSecrets>>;

    /// How many deliveries wait, and since when the longest-due one is due.
    async fn queue_depth(&self) -> anyhow::Result<QueueDepth>;

    /// Sets aside, unsent, a delivery whose webhook was found switched off:
    /// paused if hookhub switched it off (it goes out once the webhook is
    /// back), failed with `reason` if an administrator did, and given back
    /// as it was if the webhook is on again meanwhile.
    async fn set_aside(&self, lease: &Lease, reason: &str) -> anyhow::Result<()>;

    /// A one-off `webhook.test` delivery to one webhook, already leased to
    /// the caller: a Test, or a `probe` of a webhook hookhub switched off.
    async fn create_test_delivery(
        &self,
        webhook_id: &str,
        data: Value,
        lease_until: i64,
        probe: bool,
    ) -> anyhow::Result<Job>;

    /// The webhooks hookhub switched off whose probe is due, each held
    /// until `until` so that no other instance probes it meanwhile.
    async fn due_probes(&self, until: i64) -> anyhow::Result<Vec<String>>;

    /// After a failed probe: the next one at `at`, if hookhub still has the
    /// webhook switched off.
    async fn probe_again(&self, webhook_id: &str, at: i64) -> anyhow::Result<()>;

    /// A probe succeeded: switches the webhook back on, releases its paused
    /// deliveries (due oldest first) and tells `hookhub.webhook_recovered`,
    /// in one transaction. Returns how many it released; `None` if hookhub
    /// no longer has the webhook switched off.
    async fn switch_back_on(&self, webhook_id: &str) -> anyhow::Result<Option<u64>>;
}

/// When `QueueStore::record` switches a webhook off.
#[derive(Debug, Clone, Copy)]
pub struct SwitchOff {
    /// A webhook failing without a success since before this (Unix ms) is
    /// switched off; one answering `410 Gone`, at once.
    pub failing_since_before: i64,
    /// Its first probe then.
    pub first_probe_at: i64,
}

/// A one-off `webhook.test` event and its delivery, as a backend writes them
/// (`DeliveryStore::create_test_delivery`).
pub(super) struct TestDelivery {
    pub(super) event_id: String,
    pub(super) delivery_id: String,
    /// The event's data as stored.
    pub(super) stored: String,
    pub(super) created_at: i64,
}

impl TestDelivery {
    pub(super) const EVENT_TYPE: &str = "webhook.test";

    pub(super) fn new(data: &Value) -> anyhow::Result<Self> {
        Ok(Self {
            event_id: super::new_id("evt"),
            delivery_id: super::new_id("dlv"),
            stored: serde_json::to_string(data)?,
            created_at: crate::time::now_ms(),
        })
    }

    /// The job its caller holds once it is written, leased until `lease_until`.
    pub(super) fn job(self, webhook_id: &str, data: Value, lease_until: i64) -> Job {
        Job {
            delivery_id: self.delivery_id,
            webhook_id: webhook_id.to_string(),
            attempt_count: 0,
            single_attempt: true,
            ordering_key: None,
            lease_until,
            bytes: self.stored.len(),
            event: Arc::new(Event {
                id: self.event_id,
                event_type: Self::EVENT_TYPE.into(),
                data,
                change: None,
                created_at: self.created_at,
            }),
        }
    }
}

/// Why hookhub switched off a webhook whose receiver answered `410 Gone`.
pub(super) const GONE_REASON: &str = "the receiver answered 410 Gone";

/// What a batch of outcomes does to one webhook's health.
#[derive(Debug, PartialEq)]
pub(super) struct HealthChange<'a> {
    pub(super) webhook_id: &'a str,
    /// A success came: the count starts again from the failures after it.
    pub(super) recovered: bool,
    /// Failures after the last success (or all of them, if none).
    pub(super) failures: u32,
    /// The first of those failures.
    pub(super) failing_since: Option<i64>,
    /// The latest attempt's start.
    pub(super) last_attempt_at: i64,
    /// The latest attempt's failure in words; `None` if it succeeded.
    pub(super) last_error: Option<&'a str>,
    /// One of the failures was a `410 Gone`: the receiver asks to be
    /// switched off at once.
    pub(super) gone: bool,
}

/// The outcomes whose deliveries were still held under their lease (`held`).
pub(super) fn held_only<'a>(
    outcomes: &'a [Outcome],
    held: &'a HashSet<String>,
) -> impl Iterator<Item = &'a Outcome> {
    outcomes
        .iter()
        .filter(|outcome| held.contains(&outcome.attempt.delivery_id))
}

/// Says how many of `outcomes` came after their lease ran out (their
/// deliveries were claimed again, or deleted with their webhook).
pub(super) fn lost_leases(outcomes: &[Outcome], held: &HashSet<String>) {
    let lost = outcomes.len() - held_only(outcomes, held).count();
    if lost > 0 {
        tracing::info!(
            count = lost,
            "attempts recorded after their lease ended: logged, their deliveries left as they are"
        );
    }
}

/// Per webhook, in the order of their ids (the order their rows are locked
/// in, so that two instances recording at once cannot deadlock).
pub(super) fn health_changes(outcomes: &[Outcome]) -> Vec<HealthChange<'_>> {
    let mut changes: Vec<HealthChange> = Vec::new();
    for Outcome {
        attempt,
        error_in_words,
        gone,
        ..
    } in outcomes
        .iter()
        .filter(|outcome| outcome.kind != AttemptKind::Test)
    {
        let index = match changes
            .iter()
            .position(|c| c.webhook_id == attempt.webhook_id)
        {
            Some(index) => index,
            None => {
                changes.push(HealthChange {
                    webhook_id: &attempt.webhook_id,
                    recovered: false,
                    failures: 0,
                    failing_since: None,
                    last_attempt_at: attempt.started_at,
                    last_error: None,
                    gone: false,
                });
                changes.len() - 1
            }
        };
        let change = &mut changes[index];
        if attempt.started_at >= change.last_attempt_at {
            change.last_attempt_at = attempt.started_at;
            change.last_error = error_in_words.as_deref();
        }
        if attempt.succeeded() {
            change.recovered = true;
            change.failures = 0;
            change.failing_since = None;
            change.gone = false;
        } else {
            change.failures += 1;
            change.failing_since.get_or_insert(attempt.started_at);
            change.gone |= gone;
        }
    }
    changes.sort_by(|a, b| a.webhook_id.cmp(b.webhook_id));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AttemptRequest;

    fn outcome(webhook_id: &str, started_at: i64, failed: bool) -> Outcome {
        Outcome {
            lease_until: 0,
            attempt: AttemptRecord {
                delivery_id: format!("dlv_{started_at}"),
                webhook_id: webhook_id.into(),
                started_at,
                duration_ms: 1,
                request: AttemptRequest {
                    method: "POST".into(),
                    url: "https://example.com".into(),
                    headers: Default::default(),
                    body: "{}".into(),
                },
                body_source: BodySource::Stored,
                response: None,
                error_class: failed.then(|| "connect".to_string()),
                error: None,
            },
            next: Next::Failed,
            error_in_words: failed.then(|| format!("failure {started_at}")),
            gone: false,
            kind: AttemptKind::Scheduled,
            ordering_key: None,
        }
    }

    #[test]
    fn a_batch_counts_failures_after_the_last_success_per_webhook_and_keeps_the_latest() {
        let outcomes = [
            outcome("a", 1, true),
            outcome("b", 2, true),
            outcome("a", 3, false),
            outcome("a", 4, true),
            outcome("a", 5, true),
            outcome("b", 6, true),
        ];
        assert_eq!(
            health_changes(&outcomes),
            [
                HealthChange {
                    webhook_id: "a",
                    recovered: true,
                    failures: 2,
                    failing_since: Some(4),
                    last_attempt_at: 5,
                    last_error: Some("failure 5"),
                    gone: false,
                },
                HealthChange {
                    webhook_id: "b",
                    recovered: false,
                    failures: 2,
                    failing_since: Some(2),
                    last_attempt_at: 6,
                    last_error: Some("failure 6"),
                    gone: false,
                },
            ]
        );
    }

    #[test]
    fn a_410_after_the_last_success_switches_off_and_a_success_after_it_does_not() {
        let gone = |webhook_id, started_at| Outcome {
            gone: true,
            ..outcome(webhook_id, started_at, true)
        };
        let outcomes = [gone("a", 1), outcome("a", 2, false), gone("b", 3)];
        let changes = health_changes(&outcomes);
        assert!(!changes[0].gone, "a succeeded after its 410");
        assert!(changes[1].gone);
    }
}
