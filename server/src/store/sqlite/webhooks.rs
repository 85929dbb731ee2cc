use std::collections::BTreeMap;

use crate::model::DeliveryMethod;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::store::{Sealed, StoredAuth, Webhook, WebhookSettings, WebhookStore, new_id};
use crate::time::now_ms;

const SELECT_WEBHOOK: &str = "
    SELECT w.id, w.name, w.url, w.events, w.active, w.method, w.auth_type, w.auth_username,
           w.auth_secret, w.data_location, w.headers, w.headers_sealed, w.author_id, u.username AS author_name,
           w.consecutive_failures, w.disabled_reason, w.disabled_at, w.last_attempt_at, w.last_error,
           w.created_at, w.updated_at
    FROM webhooks w JOIN users u ON u.id = w.author_id";

fn method_from_text(text: &str) -> anyhow::Result<DeliveryMethod> {
    DeliveryMethod::parse(text).with_context(|| format!("unknown method `{text}` in the database"))
}

fn webhook_from_row(row: &SqliteRow) -> anyhow::Result<Webhook> {
    let auth_secret = || -> anyhow::Result<Sealed> {
        let bytes: Option<Vec<u8>> = row.get("auth_secret");
        bytes
            .map(Sealed)
            .context("credential missing in the database")
    };
    let auth = match row.get::<&str, _>("auth_type") {
        "basic" => StoredAuth::Basic {
            username: row
                .get::<Option<String>, _>("auth_username")
                .unwrap_or_default(),
            password: auth_secret()?,
        },
        "bearer" => StoredAuth::Bearer {
            token: auth_secret()?,
        },
        _ => StoredAuth::None,
    };
    Ok(Webhook {
        id: row.get("id"),
        settings: WebhookSettings {
            name: row.get("name"),
            url: row.get("url"),
            events: serde_json::from_str(row.get("events")).context("webhook events")?,
            active: row.get("active"),
            method: method_from_text(row.get("method"))?,
            auth,
            data_location: row.get("data_location"),
            headers: headers_from_column(row)?,
        },
        author_id: row.get("author_id"),
        author_name: row.get("author_name"),
        consecutive_failures: row.get::<i64, _>("consecutive_failures") as u32,
        disabled_reason: row.get("disabled_reason"),
        disabled_at: row.get("disabled_at"),
        last_attempt_at: row.get("last_attempt_at"),
        last_error: row.get("last_error"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
}

/// `{"name": "<sealed value in base64>"}`.
fn headers_column(headers: &BTreeMap<String, Sealed>) -> anyhow::Result<String> {
    let encoded: BTreeMap<&str, String> = headers
        .iter()
        .map(|(name, sealed)| (name.as_str(), BASE64.encode(&sealed.0)))
        .collect();
    Ok(serde_json::to_string(&encoded)?)
}

fn headers_from_column(row: &SqliteRow) -> anyhow::Result<BTreeMap<String, Sealed>> {
    anyhow::ensure!(
        row.get::<bool, _>("headers_sealed"),
        "a webhook's headers were not sealed at start"
    );
    let encoded: BTreeMap<String, String> =
        serde_json::from_str(row.get("headers")).context("webhook headers")?;
    encoded
        .into_iter()
        .map(|(name, value)| {
            Ok((
                name,
                Sealed(BASE64.decode(value).context("a sealed header")?),
            ))
        })
        .collect()
}

/// The columns `StoredAuth` maps to: type, username, sealed secret.
fn auth_columns(auth: &StoredAuth) -> (&'static str, Option<&str>, Option<&[u8]>) {
    match auth {
        StoredAuth::None => ("none", None, None),
        StoredAuth::Basic { username, password } => {
            ("basic", Some(username), Some(password.0.as_slice()))
        }
        StoredAuth::Bearer { token } => ("bearer", None, Some(token.0.as_slice())),
    }
}

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
        let (auth_type, auth_username, auth_secret) = auth_columns(&settings.auth);
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

    async fn webhooks(&self) -> anyhow::Result<Vec<Webhook>> {
        let rows = sqlx::query(&format!("{SELECT_WEBHOOK} ORDER BY w.created_at, w.id"))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn webhook(&self, id: &str) -> anyhow::Result<Option<Webhook>> {
        let row = sqlx::query(&format!("{SELECT_WEBHOOK} WHERE w.id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    /// Switched back on, a webhook's failures count towards switching it
    /// off from the next one, not from the first of those before.
    async fn update_webhook(&self, id: &str, settings: &WebhookSettings) -> anyhow::Result<bool> {
        let now = now_ms();
        let (auth_type, auth_username, auth_secret) = auth_columns(&settings.auth);
        let result = sqlx::query(
            "UPDATE webhooks SET name = ?, url = ?, events = ?, active = ?, method = ?,
                 auth_type = ?, auth_username = ?, auth_secret = ?, data_location = ?, headers = ?,
                 headers_sealed = 1, disabled_reason = CASE WHEN ? THEN NULL ELSE disabled_reason END,
                 disabled_at = CASE WHEN ? THEN NULL WHEN active = 1 THEN ? ELSE disabled_at END,
                 failing_since = CASE WHEN ? AND active = 0 THEN NULL ELSE failing_since END,
                 updated_at = ?
             WHERE id = ?",
        )
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
        .bind(settings.active)
        .bind(settings.active)
        .bind(now)
        .bind(settings.active)
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await
        .context("updating a webhook")?;
        Ok(result.rows_affected() == 1)
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
