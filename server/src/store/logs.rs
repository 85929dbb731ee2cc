//! View Logs: deliveries newest first, their attempts, redelivery.

use std::collections::HashMap;

use super::AttemptRecord;
use crate::events::Event;
use crate::model::DeliveryStatus;

/// A delivery as the logs show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub webhook_name: String,
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempt_count: u32,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<u64>,
    pub created_at: i64,
    /// Sent to probe a webhook hookhub switched off.
    pub probe: bool,
    /// Its event's ordering key.
    pub ordering_key: Option<String>,
    /// While it waits for its turn: the head of its ordering key, which goes first.
    pub waits_for: Option<String>,
}

/// Which deliveries to list; every part optional.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub webhook_id: Option<String>,
    pub status: Option<DeliveryStatus>,
    /// An event type or a pattern as webhooks subscribe with (`ticket.*`, `*`).
    pub event_type: Option<String>,
    /// What `search` asked for: an event id, or words of the event data
    /// (an object id among them).
    pub search: Option<String>,
    /// Created at or after, Unix milliseconds.
    pub since: Option<i64>,
    /// Created before, Unix milliseconds.
    pub until: Option<i64>,
}

/// What `redeliver` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivery {
    Queued,
    InFlight,
    /// Paused with its webhook: it goes out once the webhook is back.
    Paused,
    Missing,
}

#[async_trait::async_trait]
pub trait LogStore: Send + Sync {
    /// Newest first, `limit` at most, those older than the delivery `before`.
    /// Ids are time-ordered, so the page boundary is stable while new deliveries arrive.
    async fn deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<Delivery>>;

    async fn delivery(&self, id: &str) -> anyhow::Result<Option<Delivery>>;

    /// A delivery's attempts, oldest first.
    async fn attempts(&self, delivery_id: &str) -> anyhow::Result<Vec<AttemptRecord>>;

    /// The event a delivery carries, which its attempts' bodies are rendered from.
    async fn delivery_event(&self, delivery_id: &str) -> anyhow::Result<Option<Event>>;

    /// Queues one more attempt of a delivery now, with the same `webhook-id`.
    /// A finished delivery gets a single attempt; one still retrying keeps its
    /// schedule and is only moved up.
    async fn redeliver(&self, id: &str) -> anyhow::Result<Redelivery>;

    /// What wants an administrator's eyes: the webhooks hookhub switched
    /// off, and the deliveries that failed for good since `since` (Unix ms).
    async fn attention(&self, since: i64) -> anyhow::Result<(u64, u64)>;

    /// Paused deliveries per webhook (those with any), for one webhook or
    /// every one.
    async fn paused_deliveries(
        &self,
        webhook_id: Option<&str>,
    ) -> anyhow::Result<HashMap<String, u64>>;

    /// Succeeded and all attempts per webhook since `since` (Unix ms), for
    /// one webhook or every one.
    async fn attempt_totals(
        &self,
        since: i64,
        webhook_id: Option<&str>,
    ) -> anyhow::Result<HashMap<String, (u64, u64)>>;

    /// (bucket start, succeeded, failed) for attempts in `[since, until)`, in
    /// buckets of `bucket_ms`; empty buckets left out.
    async fn attempt_histogram(
        &self,
        webhook_id: Option<&str>,
        since: i64,
        until: i64,
        bucket_ms: i64,
    ) -> anyhow::Result<Vec<(i64, u64, u64)>>;

    /// Queues one more attempt, now, of every failed delivery to `webhook_id`
    /// created in `[since, until)`; returns how many.
    async fn recover(&self, webhook_id: &str, since: i64, until: i64) -> anyhow::Result<u64>;
}
