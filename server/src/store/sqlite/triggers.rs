//! Inbound triggers and the log of their calls.

use anyhow::Context;
use sqlx::SqlitePool;

use super::SqliteStore;
use super::outbox::enqueue;
use crate::security::TokenHash;
use crate::store::rows::{
    SELECT_TRIGGER, SELECT_TRIGGER_CALLS, TriggerCallRow, TriggerRow, trigger_auth_columns,
};
use crate::store::{
    FIRST, NewEvent, Position, QueuedEvent, Trigger, TriggerCall, TriggerSettings, TriggerStore,
    new_id,
};
use crate::time::now_ms;

/// The trigger whose `column` (a unique one) is `value`.
async fn trigger_where(
    reader: &SqlitePool,
    column: &'static str,
    value: &str,
) -> anyhow::Result<Option<Trigger>> {
    let row: Option<TriggerRow> = sqlx::query_as(&format!("{SELECT_TRIGGER} WHERE {column} = ?"))
        .bind(value)
        .fetch_optional(reader)
        .await?;
    row.map(Trigger::try_from).transpose()
}

#[async_trait::async_trait]
impl TriggerStore for SqliteStore {
    async fn create_trigger(
        &self,
        settings: &TriggerSettings,
        author_id: &str,
        slug: &str,
    ) -> anyhow::Result<Trigger> {
        let id = new_id("trg");
        let now = now_ms();
        let auth = trigger_auth_columns(&settings.auth);
        sqlx::query(
            "INSERT INTO triggers (id, name, slug, method, params, auth_type, auth_username, auth_password,
                 token_hash, event_type, response, author_id, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&settings.name)
        .bind(slug)
        .bind(settings.method.as_str())
        .bind(serde_json::to_string(&settings.params)?)
        .bind(auth.kind)
        .bind(auth.username)
        .bind(auth.password)
        .bind(auth.token)
        .bind(&settings.event_type)
        .bind(settings.response.as_str())
        .bind(author_id)
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await
        .context("creating a trigger")?;
        self.trigger(&id)
            .await?
            .context("a trigger vanished right after it was created")
    }

    async fn triggers(
        &self,
        after: Option<Position<'_>>,
        limit: u32,
    ) -> anyhow::Result<Vec<Trigger>> {
        let (created_at, id) = after.unwrap_or(FIRST);
        let rows: Vec<TriggerRow> = sqlx::query_as(&format!(
            "{SELECT_TRIGGER} WHERE (t.created_at, t.id) > (?, ?) ORDER BY t.created_at, t.id LIMIT ?"
        ))
        .bind(created_at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(Trigger::try_from).collect()
    }

    async fn trigger(&self, id: &str) -> anyhow::Result<Option<Trigger>> {
        trigger_where(&self.reader, "t.id", id).await
    }

    async fn trigger_by_slug(&self, slug: &str) -> anyhow::Result<Option<Trigger>> {
        trigger_where(&self.reader, "t.slug", slug).await
    }

    async fn update_trigger(&self, id: &str, settings: &TriggerSettings) -> anyhow::Result<bool> {
        let auth = trigger_auth_columns(&settings.auth);
        let result = sqlx::query(
            "UPDATE triggers SET name = ?, method = ?, params = ?, auth_type = ?, auth_username = ?,
                 auth_password = ?, token_hash = ?, event_type = ?, response = ?, updated_at = ?
             WHERE id = ?",
        )
        .bind(&settings.name)
        .bind(settings.method.as_str())
        .bind(serde_json::to_string(&settings.params)?)
        .bind(auth.kind)
        .bind(auth.username)
        .bind(auth.password)
        .bind(auth.token)
        .bind(&settings.event_type)
        .bind(settings.response.as_str())
        .bind(now_ms())
        .bind(id)
        .execute(&self.writer)
        .await
        .context("updating a trigger")?;
        Ok(result.rows_affected() == 1)
    }

    async fn delete_trigger(&self, id: &str) -> anyhow::Result<bool> {
        let result = sqlx::query("DELETE FROM triggers WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn set_trigger_token(&self, id: &str, token: TokenHash) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "UPDATE triggers SET token_hash = ?, updated_at = ? WHERE id = ? AND auth_type = 'bearer'",
        )
        .bind(token.0.as_slice())
        .bind(now_ms())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn log_trigger_call(
        &self,
        trigger_id: &str,
        caller: &str,
        outcome: &str,
        status_code: u16,
    ) -> anyhow::Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO trigger_calls (trigger_id, called_at, caller, outcome, status_code)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(trigger_id)
        .bind(now_ms())
        .bind(caller)
        .bind(outcome)
        .bind(i64::from(status_code))
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }

    async fn count_trigger_calls(
        &self,
        id: i64,
        more: u32,
        last_called_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE trigger_calls SET count = count + ?, last_called_at = ? WHERE id = ?")
            .bind(i64::from(more))
            .bind(last_called_at)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn accept_trigger_call(
        &self,
        trigger_id: &str,
        caller: &str,
        event: NewEvent,
        status_code: u16,
    ) -> anyhow::Result<QueuedEvent> {
        let mut tx = self.writer.begin().await?;
        let enqueued = enqueue(&mut tx, &[event]).await?.remove(0);
        sqlx::query(
            "INSERT INTO trigger_calls (trigger_id, called_at, caller, outcome, status_code, event_id)
             VALUES (?, ?, ?, 'accepted', ?, ?)",
        )
        .bind(trigger_id)
        .bind(now_ms())
        .bind(caller)
        .bind(status_code)
        .bind(&enqueued.event_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.context("committing a trigger call")?;
        Ok(QueuedEvent {
            event_id: enqueued.event_id,
            deliveries: enqueued.deliveries,
        })
    }

    async fn trigger_calls(
        &self,
        trigger_id: &str,
        outcome: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> anyhow::Result<Vec<TriggerCall>> {
        let rows: Vec<TriggerCallRow> = sqlx::query_as(&format!(
            "{SELECT_TRIGGER_CALLS} WHERE trigger_id = ? AND outcome = COALESCE(?, outcome) AND id < ?
             ORDER BY id DESC LIMIT ?"
        ))
        .bind(trigger_id)
        .bind(outcome)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(TriggerCall::from).collect())
    }
}
