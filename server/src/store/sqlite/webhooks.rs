use std::collections::BTreeMap;

use anyhow::Context;
use sqlx::Row;

use super::SqliteStore;
use super::deliveries::release_paused;
use crate::store::rows::{SELECT_WEBHOOK, WebhookRow, headers_column, webhook_auth_columns};
use crate::store::{
    FIRST, Position, Sealed, Switch, Webhook, WebhookSettings, WebhookStore, new_id,
};
use crate::time::now_ms;

#[async_trait::async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(
        &self,
        settings: &WebhookSettings,
        author_id: &str,
        secret: &Sealed,
    ) -> anyhow::Result<Webhook> {
        let id = new_id("wh");
        let now = now_ms();
        let (auth_type, auth_username, auth_secret) = webhook_auth_columns(&settings.auth);
        sqlx::query(
            "INSERT INTO webhooks (id, name, url, events, active, method, auth_type, auth_username,
                 auth_secret, data_location, headers, headers_sealed, secret, author_id, disabled_at,
                 created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&settings.name)
        .bind(&settings.url)
        .bind(serde_json::to_string(&settings.events)?)
        .bind(settings.active)
        .bind(settings.method.as_str())
        .bind(auth_type)
        .bind(auth_username)
        .bind(auth_secret)
        .bind(&settings.data_location)
        .bind(headers_column(&settings.headers)?)
        .bind(secret.0.as_slice())
        .bind(author_id)
        .bind((!settings.active).then_some(now))
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await
        .context("creating a webhook")?;
        self.webhook(&id)
            .await?
            .context("a webhook vanished right after it was created")
    }

    async fn webhooks(
        &self,
        after: Option<Position<'_>>,
        limit: u32,
    ) -> anyhow::Result<Vec<Webhook>> {
        let (created_at, id) = after.unwrap_or(FIRST);
        let rows: Vec<WebhookRow> = sqlx::query_as(&format!(
            "{SELECT_WEBHOOK} WHERE (w.created_at, w.id) > (?, ?) ORDER BY w.created_at, w.id LIMIT ?"
        ))
        .bind(created_at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(Webhook::try_from).collect()
    }

    async fn webhook(&self, id: &str) -> anyhow::Result<Option<Webhook>> {
        let row: Option<WebhookRow> = sqlx::query_as(&format!("{SELECT_WEBHOOK} WHERE w.id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(Webhook::try_from).transpose()
    }

    /// Switched back on, a webhook's failures count towards switching it
    /// off from the next one, not from the first of those before.
    async fn update_webhook(
        &self,
        id: &str,
        settings: &WebhookSettings,
        switch: Switch,
    ) -> anyhow::Result<bool> {
        let now = now_ms();
        let (auth_type, auth_username, auth_secret) = webhook_auth_columns(&settings.auth);
        let mut tx = self.writer.begin().await?;
        let switched_off_by_hookhub: Option<bool> =
            sqlx::query_scalar("SELECT disabled_reason IS NOT NULL FROM webhooks WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(switched_off_by_hookhub) = switched_off_by_hookhub else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE webhooks SET name = ?2, url = ?3, events = ?4, method = ?5,
                 auth_type = ?6, auth_username = ?7, auth_secret = ?8, data_location = ?9,
                 headers = ?10, headers_sealed = 1,
                 active = CASE ?1 WHEN 'on' THEN 1 WHEN 'off' THEN 0 ELSE active END,
                 disabled_reason = CASE ?1 WHEN 'keep' THEN disabled_reason END,
                 next_probe_at = CASE ?1 WHEN 'keep' THEN next_probe_at END,
                 disabled_at = CASE ?1 WHEN 'on' THEN NULL WHEN 'off' THEN COALESCE(disabled_at, ?11)
                     ELSE disabled_at END,
                 failing_since = CASE ?1 WHEN 'on' THEN NULL ELSE failing_since END,
                 updated_at = ?11
             WHERE id = ?12",
        )
        .bind(switch.as_str())
        .bind(&settings.name)
        .bind(&settings.url)
        .bind(serde_json::to_string(&settings.events)?)
        .bind(settings.method.as_str())
        .bind(auth_type)
        .bind(auth_username)
        .bind(auth_secret)
        .bind(&settings.data_location)
        .bind(headers_column(&settings.headers)?)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("updating a webhook")?;
        if switch == Switch::On {
            release_paused(&mut tx, id, &settings.name, switched_off_by_hookhub).await?;
        }
        tx.commit().await.context("updating a webhook")?;
        Ok(true)
    }

    async fn plaintext_headers(&self) -> anyhow::Result<Vec<(String, BTreeMap<String, String>)>> {
        let rows = sqlx::query("SELECT id, headers FROM webhooks WHERE headers_sealed = 0")
            .fetch_all(&self.writer)
            .await?;
        rows.iter()
            .map(|row| {
                let headers =
                    serde_json::from_str(row.get("headers")).context("webhook headers")?;
                Ok((row.get("id"), headers))
            })
            .collect()
    }

    async fn seal_headers(
        &self,
        id: &str,
        headers: &BTreeMap<String, Sealed>,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE webhooks SET headers = ?, headers_sealed = 1 WHERE id = ?")
            .bind(headers_column(headers)?)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// `VACUUM` rewrites the file; the log is then emptied.
    async fn scrub(&self) -> anyhow::Result<()> {
        sqlx::query("VACUUM").execute(&self.writer).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_webhook(&self, id: &str) -> anyhow::Result<bool> {
        let result = sqlx::query("DELETE FROM webhooks WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await
            .context("deleting a webhook")?;
        Ok(result.rows_affected() == 1)
    }

    async fn signing_secret(&self, id: &str) -> anyhow::Result<Option<Sealed>> {
        let secret: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT secret FROM webhooks WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(secret.map(Sealed))
    }

    async fn rotate_secret(
        &self,
        id: &str,
        new: &Sealed,
        previous_until: i64,
    ) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "UPDATE webhooks SET previous_secret = secret, previous_secret_until = ?, secret = ?,
                 updated_at = ?
             WHERE id = ?",
        )
        .bind(previous_until)
        .bind(new.0.as_slice())
        .bind(now_ms())
        .bind(id)
        .execute(&self.writer)
        .await
        .context("rotating a signing secret")?;
        Ok(result.rows_affected() == 1)
    }
}
