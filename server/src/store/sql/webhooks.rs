//! Webhooks as stored: settings validated, credentials and header values sealed.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use sqlx::Row;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Backend, Query, release_paused};
use crate::model::DeliveryMethod;
use crate::store::deliveries::rate_limit;
use crate::store::{
    Dialect, FIRST, Position, Sealed, StoredAuth, Switch, Webhook, WebhookSettings, WebhookStore,
    new_id,
};
use crate::time::now_ms;

#[async_trait::async_trait]
impl WebhookStore for Backend {
    async fn create_webhook(
        &self,
        settings: &WebhookSettings,
        author_id: &str,
        secret: &Sealed,
    ) -> anyhow::Result<Webhook> {
        let id = new_id("wh");
        let now = now_ms();
        with_settings(
            sqlx::query(
                "INSERT INTO webhooks (name, url, events, method, auth_type, auth_username,
                     auth_secret, data_location, headers, filter, rate_limit, retry_schedule, id,
                     active, secret, author_id, disabled_at, headers_sealed, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, TRUE, $18, $18)",
            ),
            settings,
        )?
        .bind(&id)
        .bind(settings.active)
        .bind(secret.0.as_slice())
        .bind(author_id)
        .bind((!settings.active).then_some(now))
        .bind(now)
        .execute(self.writer())
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
            "{SELECT_WEBHOOK} WHERE (w.created_at, w.id) > ($1, $2) ORDER BY w.created_at, w.id LIMIT $3"
        ))
        .bind(created_at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(Webhook::try_from).collect()
    }

    async fn webhook(&self, id: &str) -> anyhow::Result<Option<Webhook>> {
        let row: Option<WebhookRow> = sqlx::query_as(&format!("{SELECT_WEBHOOK} WHERE w.id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
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
        let mut tx = self.writer().begin().await?;
        // Locked: the recorder may be switching it off this moment.
        let switched_off_by_hookhub: Option<bool> = sqlx::query_scalar(&format!(
            "SELECT disabled_reason IS NOT NULL FROM webhooks WHERE id = $1{}",
            Backend::LOCK_ROWS
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(switched_off_by_hookhub) = switched_off_by_hookhub else {
            return Ok(false);
        };
        with_settings(
            sqlx::query(
                "UPDATE webhooks SET name = $1, url = $2, events = $3, method = $4, auth_type = $5,
                     auth_username = $6, auth_secret = $7, data_location = $8, headers = $9,
                     filter = $10, rate_limit = $11, retry_schedule = $12, headers_sealed = TRUE,
                     active = CASE $13 WHEN 'on' THEN TRUE WHEN 'off' THEN FALSE ELSE active END,
                     disabled_reason = CASE $13 WHEN 'keep' THEN disabled_reason END,
                     next_probe_at = CASE $13 WHEN 'keep' THEN next_probe_at END,
                     disabled_at = CASE $13 WHEN 'on' THEN NULL
                         WHEN 'off' THEN COALESCE(disabled_at, $14) ELSE disabled_at END,
                     failing_since = CASE $13 WHEN 'on' THEN NULL ELSE failing_since END,
                     updated_at = $14
                 WHERE id = $15",
            ),
            settings,
        )?
        .bind(switch.as_str())
        .bind(now_ms())
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
        let rows = sqlx::query("SELECT id, headers FROM webhooks WHERE NOT headers_sealed")
            .fetch_all(self.writer())
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
        sqlx::query("UPDATE webhooks SET headers = $1, headers_sealed = TRUE WHERE id = $2")
            .bind(headers_column(headers)?)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn delete_webhook(&self, id: &str) -> anyhow::Result<bool> {
        let result = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await
            .context("deleting a webhook")?;
        Ok(result.rows_affected() == 1)
    }

    async fn signing_secret(&self, id: &str) -> anyhow::Result<Option<Sealed>> {
        let secret: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT secret FROM webhooks WHERE id = $1")
                .bind(id)
                .fetch_optional(self.reader())
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
            "UPDATE webhooks SET previous_secret = secret, previous_secret_until = $1, secret = $2,
                 updated_at = $3
             WHERE id = $4",
        )
        .bind(previous_until)
        .bind(new.0.as_slice())
        .bind(now_ms())
        .bind(id)
        .execute(self.writer())
        .await
        .context("rotating a signing secret")?;
        Ok(result.rows_affected() == 1)
    }
}

/// `query` with the columns of `settings` but `active` bound as $1 to $12:
/// name, url, events, method, auth_type, auth_username, auth_secret,
/// data_location, headers, filter, rate_limit, retry_schedule.
fn with_settings<'q>(query: Query<'q>, settings: &'q WebhookSettings) -> anyhow::Result<Query<'q>> {
    let (auth_type, auth_username, auth_secret) = webhook_auth_columns(&settings.auth);
    Ok(query
        .bind(&settings.name)
        .bind(&settings.url)
        .bind(serde_json::to_string(&settings.events)?)
        .bind(settings.method.as_str())
        .bind(auth_type)
        .bind(auth_username)
        .bind(auth_secret)
        .bind(&settings.data_location)
        .bind(headers_column(&settings.headers)?)
        .bind(settings.filter.as_ref().map(Value::to_string))
        .bind(settings.rate_limit.map(i64::from))
        .bind(settings.retry_schedule.as_deref().map(schedule_column)))
}

/// A retry schedule as stored: its waits in seconds, comma-separated.
fn schedule_column(steps: &[Duration]) -> String {
    steps
        .iter()
        .map(|step| step.as_secs().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The other way round.
fn schedule_of(column: &str) -> anyhow::Result<Vec<Duration>> {
    column
        .split(',')
        .map(|seconds| Ok(Duration::from_secs(seconds.parse()?)))
        .collect()
}

/// The columns every webhook query selects, webhooks as `w`, users as `u`.
const SELECT_WEBHOOK: &str = "
    SELECT w.id, w.name, w.url, w.events, w.active, w.method, w.auth_type, w.auth_username,
           w.auth_secret, w.data_location, w.headers, w.headers_sealed, w.filter, w.rate_limit, w.retry_schedule, w.author_id, u.username AS author_name,
           w.consecutive_failures, w.disabled_reason, w.disabled_at, w.last_attempt_at, w.last_error,
           w.next_probe_at, w.created_at, w.updated_at
    FROM webhooks w JOIN users u ON u.id = w.author_id";

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: String,
    name: String,
    url: String,
    events: String,
    active: bool,
    method: String,
    auth_type: String,
    auth_username: Option<String>,
    auth_secret: Option<Vec<u8>>,
    data_location: Option<String>,
    headers: String,
    headers_sealed: bool,
    filter: Option<String>,
    rate_limit: Option<i64>,
    retry_schedule: Option<String>,
    author_id: String,
    author_name: String,
    consecutive_failures: i64,
    disabled_reason: Option<String>,
    disabled_at: Option<i64>,
    last_attempt_at: Option<i64>,
    last_error: Option<String>,
    next_probe_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = anyhow::Error;

    fn try_from(row: WebhookRow) -> anyhow::Result<Self> {
        let auth_secret = || -> anyhow::Result<Sealed> {
            row.auth_secret
                .clone()
                .map(Sealed)
                .context("credential missing in the database")
        };
        let auth = match row.auth_type.as_str() {
            "basic" => StoredAuth::Basic {
                username: row.auth_username.clone().unwrap_or_default(),
                password: auth_secret()?,
            },
            "bearer" => StoredAuth::Bearer {
                token: auth_secret()?,
            },
            _ => StoredAuth::None,
        };
        anyhow::ensure!(
            row.headers_sealed,
            "a webhook's headers were not sealed at start"
        );
        Ok(Webhook {
            id: row.id,
            settings: WebhookSettings {
                name: row.name,
                url: row.url,
                events: serde_json::from_str(&row.events).context("webhook events")?,
                active: row.active,
                method: DeliveryMethod::parse(&row.method)
                    .with_context(|| format!("unknown method `{}` in the database", row.method))?,
                auth,
                data_location: row.data_location,
                headers: sealed_headers(&row.headers)?,
                filter: row
                    .filter
                    .map(|filter| serde_json::from_str(&filter))
                    .transpose()
                    .context("webhook filter")?,
                rate_limit: rate_limit(row.rate_limit),
                retry_schedule: row
                    .retry_schedule
                    .as_deref()
                    .map(schedule_of)
                    .transpose()
                    .context("webhook retry schedule")?,
            },
            author_id: row.author_id,
            author_name: row.author_name,
            consecutive_failures: row.consecutive_failures as u32,
            disabled_reason: row.disabled_reason,
            disabled_at: row.disabled_at,
            last_attempt_at: row.last_attempt_at,
            last_error: row.last_error,
            next_probe_at: row.next_probe_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// `{"name": "<sealed value in base64>"}`.
fn headers_column(headers: &BTreeMap<String, Sealed>) -> anyhow::Result<String> {
    let encoded: BTreeMap<&str, String> = headers
        .iter()
        .map(|(name, sealed)| (name.as_str(), BASE64.encode(&sealed.0)))
        .collect();
    Ok(serde_json::to_string(&encoded)?)
}

fn sealed_headers(column: &str) -> anyhow::Result<BTreeMap<String, Sealed>> {
    let encoded: BTreeMap<String, String> =
        serde_json::from_str(column).context("webhook headers")?;
    encoded
        .into_iter()
        .map(|(name, value)| {
            let sealed = BASE64.decode(value).context("a sealed header")?;
            Ok((name, Sealed(sealed)))
        })
        .collect()
}

/// The columns `StoredAuth` maps to: type, username, sealed secret.
fn webhook_auth_columns(auth: &StoredAuth) -> (&'static str, Option<&str>, Option<&[u8]>) {
    match auth {
        StoredAuth::None => ("none", None, None),
        StoredAuth::Basic { username, password } => {
            ("basic", Some(username), Some(password.0.as_slice()))
        }
        StoredAuth::Bearer { token } => ("bearer", None, Some(token.0.as_slice())),
    }
}
