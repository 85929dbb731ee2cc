//! Forgetting old logs, a small batch at a time so that writers never wait
//! long. One instance prunes at a time (`Turn::Pruning`): one that finds
//! another pruning leaves the work to it.

use super::Backend;
use crate::store::dialect::Turn;
use crate::store::{Dialect, RetentionStore};

impl Backend {
    /// Deletes the first `batch` rows of `table` (by its `key` column) where
    /// `condition` holds, `$1` in it being `before`.
    pub(super) async fn prune_rows(
        &self,
        table: &str,
        key: &str,
        condition: &str,
        before: i64,
        batch: u32,
    ) -> anyhow::Result<u64> {
        let statement = format!(
            "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {condition} LIMIT $2)"
        );
        self.prune(&statement, before, batch).await
    }

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
        // Paused ones too (docs/decisions.md); never those waiting for their turn.
        let finished_before =
            "next_attempt_at IS NULL AND status NOT IN ('pending', 'retrying') AND created_at < $1";
        self.prune_rows("deliveries", "id", finished_before, before, batch)
            .await
    }

    async fn prune_events(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        let unreferenced_before = "created_at < $1
            AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)
            AND NOT EXISTS (SELECT 1 FROM fanouts f WHERE f.event_id = events.id)";
        self.prune_rows("events", "id", unreferenced_before, before, batch)
            .await
    }

    /// `used_at` is checked again outside the subquery, on the row once
    /// locked: a key that a publisher takes meanwhile is kept.
    async fn prune_ordering_keys(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM ordering_keys WHERE used_at < $1 AND ordering_key IN (
                 SELECT ordering_key FROM ordering_keys k WHERE used_at < $1
                   AND NOT EXISTS (SELECT 1 FROM deliveries d
                       WHERE d.ordering_key = k.ordering_key AND d.ordering_key IS NOT NULL
                         AND d.status IN ('pending', 'retrying', 'paused'))
                   AND NOT EXISTS (SELECT 1 FROM fanouts f WHERE f.ordering_key = k.ordering_key)
                 LIMIT $2)",
            before,
            batch,
        )
        .await
    }

    async fn prune_idempotency_keys(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        let key = "idempotency_key";
        self.prune_rows("idempotency_keys", key, "created_at < $1", before, batch)
            .await
    }

    async fn prune_trigger_calls(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        self.prune_rows("trigger_calls", "id", "called_at < $1", before, batch)
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
