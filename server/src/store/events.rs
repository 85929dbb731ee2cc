//! Events in, deliveries out: an accepted event is written with one delivery
//! per matching active webhook in one transaction, and acknowledged only
//! once durable.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{Notify, mpsc};

use super::Job;
use crate::model::{EventAccepted, QueuedDelivery};

/// How long an idempotency key keeps an event from being accepted again:
/// 7 days, in milliseconds.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

/// An event to accept.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub data: Value,
    pub change: Option<(Vec<String>, Map<String, Value>)>,
    /// A publisher's key: an event accepted with it within
    /// `IDEMPOTENCY_WINDOW` is answered instead, and this one not written.
    pub idempotency_key: Option<String>,
    /// Its ordering key: its deliveries go after those of the events
    /// accepted before with the same key (SPEC.md "Ordering").
    pub ordering_key: Option<String>,
    /// An operator event about this webhook: never delivered to it.
    pub about_webhook: Option<String>,
}

#[cfg(test)]
impl NewEvent {
    /// An `order.create` with no key, for tests.
    pub fn sample() -> Self {
        Self {
            event_type: "order.create".into(),
            data: serde_json::json!({"id": 1}),
            change: None,
            idempotency_key: None,
            ordering_key: None,
            about_webhook: None,
        }
    }
}

/// An event accepted and the deliveries it queued.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    pub event_id: String,
    pub deliveries: Vec<QueuedDelivery>,
}

/// Room in this process's workers for published deliveries: the group
/// committer leases a delivery to them only when `reserve` finds room.
pub trait WorkerRoom: Send + Sync {
    /// Counts one more delivery of `bytes` for `webhook_id` if there is room.
    fn reserve(&self, webhook_id: &str, bytes: usize) -> bool;
    /// Gives back reservations whose deliveries were not committed.
    fn give_back(&self, webhook_id: &str, count: usize, bytes: usize);
}

#[async_trait::async_trait]
pub trait EventStore: Send + Sync {
    /// Accepts published events, all or none, answering once they are durable.
    async fn publish(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<EventAccepted>>;

    /// Writes the deliveries of events that were accepted with theirs
    /// deferred (`outbox::INLINE_DELIVERIES`), oldest first: about `at_most`
    /// deliveries (one event's at least) in one transaction. Returns how
    /// many events it fanned out, 0 when none wait.
    async fn fan_out(&self, at_most: usize) -> anyhow::Result<usize>;

    /// Hands this process's workers the deliveries of every later publication
    /// that `room` has room for (counted there as they are leased), leased
    /// to them for `lease`, until the receiver is dropped.
    fn take_fresh_deliveries(
        &self,
        lease: Duration,
        room: Arc<dyn WorkerRoom>,
    ) -> mpsc::UnboundedReceiver<Vec<Job>>;

    /// Wakes `wake` whenever published deliveries due now wait to be
    /// claimed: those this process's workers had no room for and, where
    /// several processes share the database, any committed by another.
    fn wake_on_commits(&self, wake: std::sync::Arc<Notify>);
}
