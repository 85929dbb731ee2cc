//! The queue seen from the workers: claim due deliveries under a lease, load
//! what sending needs, record outcomes in batches.

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
    /// Until when the claim holds (Unix milliseconds): an attempt must end before.
    pub lease_until: i64,
    /// Shared by the deliveries of one event: a fan-out holds one copy of it.
    pub event: Arc<Event>,
    /// The event's data as stored, in bytes: what holding this job is counted to cost.
    pub bytes: usize,
}

/// A delivery due now that nobody holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub id: String,
    pub webhook_id: String,
    /// Its event's data as stored, in bytes.
    pub bytes: usize,
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

#[derive(Debug, Clone)]
pub struct Outcome {
    pub attempt: AttemptRecord,
    pub next: Next,
    /// The failure in a few words, as the delivery and its webhook show it
    /// (the attempt keeps the whole message); `None` after a success.
    pub error_in_words: Option<String>,
}

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

    /// The signing secrets in force now.
    async fn signing_secrets(&self, webhook_id: &str) -> anyhow::Result<Option<SigningSecrets>>;

    /// When the next delivery falls due (or a lease runs out), if any.
    async fn next_due_at(&self) -> anyhow::Result<Option<i64>>;

    /// Ends a delivery as failed without sending it.
    async fn abandon(&self, delivery_id: &str, reason: &str) -> anyhow::Result<()>;

    /// Gives claimed deliveries back, e.g. on shutdown.
    async fn release(&self, ids: &[String]) -> anyhow::Result<()>;

    /// A one-off `webhook.test` delivery to one webhook, already leased to the caller.
    async fn create_test_delivery(
        &self,
        webhook_id: &str,
        data: Value,
        lease_until: i64,
    ) -> anyhow::Result<Job>;

    /// Records attempts and their consequences in one transaction: the
    /// deliveries' new state, the webhooks' health, and switching off a
    /// webhook that has failed without a success since `disable_before`.
    /// Returns the webhooks it switched off.
    async fn record(
        &self,
        outcomes: &[Outcome],
        disable_before: i64,
    ) -> anyhow::Result<Vec<String>>;
}
