//! Forgetting old logs, a small batch at a time so that writers never wait
//! long. One instance prunes at a time (`Turn::Pruning`): one that finds
//! another pruning leaves the work to it.

use super::Backend;
use crate::store::dialect::Turn;
use crate::store::{Dialect, RetentionStore};

impl Backend {
    /// Runs `statement` with `before` ($1) and `batch` ($2) if no other
    /// instance is pruning; returns the rows it touched (0 when another prunes).
    async fn prune(&self, statement: &str, before: i64, batch: u32) -> anyhow::Result<u64> {
        let mut tx = self.writer().begin().await?;
        if !Backend::take_turn(&mut tx, Turn::Pruning).await? {
            return Ok(0);
        }
        let touched = sqlx::query(statement)
            .bind(before)
            .bind(i64::from(batch))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(touched)
    }
}

#[async_trait::async_trait]
impl RetentionStore for Backend {
    async fn prune_deliveries(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM deliveries WHERE id IN (
                 SELECT id FROM deliveries WHERE next_attempt_at IS NULL AND created_at < $1 LIMIT $2)",
            before,
            batch,
        )
        .await
    }

    async fn prune_events(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM events WHERE id IN (
                 SELECT e.id FROM events e WHERE e.created_at < $1
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
                   AND NOT EXISTS (SELECT 1 FROM fanouts f WHERE f.event_id = e.id)
                 LIMIT $2)",
            before,
            batch,
        )
        .await
    }

    async fn prune_idempotency_keys(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM idempotency_keys WHERE idempotency_key IN (
                 SELECT idempotency_key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
            before,
            batch,
        )
        .await
    }

    async fn prune_trigger_calls(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM trigger_calls WHERE id IN (
                 SELECT id FROM trigger_calls WHERE called_at < $1 LIMIT $2)",
            before,
            batch,
        )
        .await
    }

    async fn drop_payloads(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        self.prune(
            "UPDATE attempts SET request_body = '', body_from_event = FALSE, response_body = NULL
             WHERE id IN (SELECT id FROM attempts
                 WHERE succeeded AND (request_body != '' OR body_from_event) AND started_at < $1
                 LIMIT $2)",
            before,
            batch,
        )
        .await
    }
}
