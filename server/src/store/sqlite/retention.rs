//! Forgetting old logs, a small batch at a time so that writers never wait long.

use super::SqliteStore;
use crate::store::RetentionStore;

#[async_trait::async_trait]
impl RetentionStore for SqliteStore {
    async fn prune_deliveries(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        let result = sqlx::query(
            "DELETE FROM deliveries WHERE id IN (
                 SELECT id FROM deliveries WHERE next_attempt_at IS NULL AND created_at < ? LIMIT ?)",
        )
        .bind(before)
        .bind(batch)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }

    async fn prune_events(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        let result = sqlx::query(
            "DELETE FROM events WHERE id IN (
                 SELECT e.id FROM events e WHERE e.created_at < ?
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
                   AND NOT EXISTS (SELECT 1 FROM fanouts f WHERE f.event_id = e.id)
                 LIMIT ?)",
        )
        .bind(before)
        .bind(batch)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }

    async fn prune_idempotency_keys(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        let result = sqlx::query(
            "DELETE FROM idempotency_keys WHERE idempotency_key IN (
                 SELECT idempotency_key FROM idempotency_keys WHERE created_at < ? LIMIT ?)",
        )
        .bind(before)
        .bind(batch)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }

    async fn prune_trigger_calls(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        let result = sqlx::query(
            "DELETE FROM trigger_calls WHERE id IN (SELECT id FROM trigger_calls WHERE called_at < ? LIMIT ?)",
        )
        .bind(before)
        .bind(batch)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }

    async fn drop_payloads(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        let result = sqlx::query(
            "UPDATE attempts SET request_body = '', body_from_event = 0, response_body = NULL
             WHERE id IN (SELECT id FROM attempts
                 WHERE succeeded = 1 AND (request_body != '' OR body_from_event = 1) AND started_at < ?
                 LIMIT ?)",
        )
        .bind(before)
        .bind(batch)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }
}
