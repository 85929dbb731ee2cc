//! Forgetting old logs, a small batch at a time so that writers never wait long.

#[async_trait::async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes up to `batch` finished deliveries created before `before`, with
    /// their attempts. Deliveries still pending or retrying are kept. Returns how many.
    async fn prune_deliveries(&self, before: i64, batch: u32) -> anyhow::Result<u64>;

    /// Deletes up to `batch` events created before `before` that no delivery refers to any more.
    async fn prune_events(&self, before: i64, batch: u32) -> anyhow::Result<u64>;

    /// Deletes up to `batch` ordering keys last used before `before` that
    /// nothing waits in any more (a key used again starts counting again).
    async fn prune_ordering_keys(&self, before: i64, batch: u32) -> anyhow::Result<u64>;

    /// Deletes up to `batch` idempotency keys accepted before `before`.
    async fn prune_idempotency_keys(&self, before: i64, batch: u32) -> anyhow::Result<u64>;

    /// Deletes up to `batch` trigger calls logged before `before`.
    async fn prune_trigger_calls(&self, before: i64, batch: u32) -> anyhow::Result<u64>;

    /// Empties the request and response bodies of up to `batch` successful
    /// attempts started before `before`; the attempts themselves stay.
    async fn drop_payloads(&self, before: i64, batch: u32) -> anyhow::Result<u64>;
}
