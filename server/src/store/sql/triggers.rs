//! Inbound triggers and the log of their calls.

use anyhow::Context;

use super::{Backend, Query, enqueue};
use crate::model::{TriggerMethod, TriggerResponse};
use crate::security::TokenHash;
use crate::security::inbound::Scheme;
use crate::store::{
    Dialect, FIRST, NewEvent, Position, QueuedEvent, Sealed, Trigger, TriggerAuth, TriggerCall,
    TriggerSettings, TriggerStore, new_id,
};
use crate::time::now_ms;

impl Backend {
    /// The trigger whose `column` (a unique one) is `value`.
    async fn trigger_where(&self, column: &str, value: &str) -> anyhow::Result<Option<Trigger>> {
        let row: Option<TriggerRow> =
            sqlx::query_as(&format!("{SELECT_TRIGGER} WHERE {column} = $1"))
                .bind(value)
                .fetch_optional(self.reader())
                .await?;
        row.map(Trigger::try_from).transpose()
    }
}

#[async_trait::async_trait]
impl TriggerStore for Backend {
    async fn create_trigger(
        &self,
        settings: &TriggerSettings,
        author_id: &str,
        slug: &str,
    ) -> anyhow::Result<Trigger> {
        let id = new_id("trg");
        with_settings(
            sqlx::query(
                "INSERT INTO triggers (name, method, params, auth_type, auth_username, auth_password,
                     token_hash, event_type, response, auth_scheme, id, slug, author_id, created_at,
                     updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
            ),
            settings,
        )?
        .bind(&id)
        .bind(slug)
        .bind(author_id)
        .bind(now_ms())
        .execute(self.writer())
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
            "{SELECT_TRIGGER} WHERE (t.created_at, t.id) > ($1, $2) ORDER BY t.created_at, t.id LIMIT $3"
        ))
        .bind(created_at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(Trigger::try_from).collect()
    }

    async fn trigger(&self, id: &str) -> anyhow::Result<Option<Trigger>> {
        self.trigger_where("t.id", id).await
    }

    async fn trigger_by_slug(&self, slug: &str) -> anyhow::Result<Option<Trigger>> {
        self.trigger_where("t.slug", slug).await
    }

    async fn update_trigger(&self, id: &str, settings: &TriggerSettings) -> anyhow::Result<bool> {
        let result = with_settings(
            sqlx::query(
                "UPDATE triggers SET name = $1, method = $2, params = $3, auth_type = $4,
                     auth_username = $5, auth_password = $6, token_hash = $7, event_type = $8,
                     response = $9, auth_scheme = $10, updated_at = $11
                 WHERE id = $12",
            ),
            settings,
        )?
        .bind(now_ms())
        .bind(id)
        .execute(self.writer())
        .await
        .context("updating a trigger")?;
        Ok(result.rows_affected() == 1)
    }

    async fn delete_trigger(&self, id: &str) -> anyhow::Result<bool> {
        let result = sqlx::query("DELETE FROM triggers WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn set_trigger_token(&self, id: &str, token: TokenHash) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "UPDATE triggers SET token_hash = $1, updated_at = $2 WHERE id = $3 AND auth_type = 'bearer'",
        )
        .bind(token.0.as_slice())
        .bind(now_ms())
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn log_trigger_call(
        &self,
        trigger_id: &str,
        caller: &str,
        outcome: &str,
        status_code: u16,
        reason: Option<&str>,
    ) -> anyhow::Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO trigger_calls (trigger_id, called_at, caller, outcome, status_code, reason)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(trigger_id)
        .bind(now_ms())
        .bind(caller)
        .bind(outcome)
        .bind(i64::from(status_code))
        .bind(reason)
        .fetch_one(self.writer())
        .await?;
        Ok(id)
    }

    async fn count_trigger_calls(
        &self,
        id: i64,
        more: u32,
        last_called_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE trigger_calls SET count = count + $1, last_called_at = $2 WHERE id = $3",
        )
        .bind(i64::from(more))
        .bind(last_called_at)
        .bind(id)
        .execute(self.writer())
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
        let mut tx = self.writer().begin().await?;
        let enqueued = enqueue(&mut tx, &[event]).await?.remove(0);
        sqlx::query(
            "INSERT INTO trigger_calls (trigger_id, called_at, caller, outcome, status_code, event_id)
             VALUES ($1, $2, $3, 'accepted', $4, $5)",
        )
        .bind(trigger_id)
        .bind(now_ms())
        .bind(caller)
        .bind(i64::from(status_code))
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
            "{SELECT_TRIGGER_CALLS} WHERE trigger_id = $1 AND outcome = COALESCE($2, outcome) AND id < $3
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(trigger_id)
        .bind(outcome)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(TriggerCall::from).collect())
    }
}

/// `query` with the columns of `settings` bound as $1 to $10: name, method,
/// params, auth_type, auth_username, auth_password, token_hash, event_type,
/// response, auth_scheme.
fn with_settings<'q>(query: Query<'q>, settings: &'q TriggerSettings) -> anyhow::Result<Query<'q>> {
    let auth = trigger_auth_columns(&settings.auth);
    Ok(query
        .bind(&settings.name)
        .bind(settings.method.as_str())
        .bind(serde_json::to_string(&settings.params)?)
        .bind(auth.kind)
        .bind(auth.username)
        .bind(auth.password)
        .bind(auth.token)
        .bind(&settings.event_type)
        .bind(settings.response.as_str())
        .bind(auth.scheme))
}

/// The columns every trigger query selects, triggers as `t`, users as `u`.
const SELECT_TRIGGER: &str = "
    SELECT t.id, t.slug, t.name, t.method, t.params, t.auth_type, t.auth_username, t.auth_password,
           t.token_hash, t.auth_scheme, t.event_type, t.response, t.author_id, u.username AS author_name,
           t.created_at, t.updated_at
    FROM triggers t JOIN users u ON u.id = t.author_id";

#[derive(sqlx::FromRow)]
struct TriggerRow {
    id: String,
    slug: String,
    name: String,
    method: String,
    params: String,
    auth_type: String,
    auth_username: Option<String>,
    auth_password: Option<Vec<u8>>,
    token_hash: Option<Vec<u8>>,
    auth_scheme: Option<String>,
    event_type: String,
    response: String,
    author_id: String,
    author_name: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<TriggerRow> for Trigger {
    type Error = anyhow::Error;

    fn try_from(row: TriggerRow) -> anyhow::Result<Self> {
        let auth = match row.auth_type.as_str() {
            "basic" => TriggerAuth::Basic {
                username: row.auth_username.unwrap_or_default(),
                password: Sealed(row.auth_password.context("trigger password missing")?),
            },
            "bearer" => TriggerAuth::Bearer {
                token: row
                    .token_hash
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
                    .map(TokenHash),
            },
            "signature" => TriggerAuth::Signature {
                scheme: row
                    .auth_scheme
                    .as_deref()
                    .and_then(Scheme::from_column)
                    .context("unknown signature scheme in the database")?,
                secret: Sealed(row.auth_password.context("trigger secret missing")?),
            },
            _ => TriggerAuth::None,
        };
        Ok(Trigger {
            id: row.id,
            slug: row.slug,
            settings: TriggerSettings {
                name: row.name,
                method: TriggerMethod::parse(&row.method)
                    .context("unknown trigger method in the database")?,
                params: serde_json::from_str(&row.params).context("trigger params")?,
                auth,
                event_type: row.event_type,
                response: TriggerResponse::parse(&row.response)
                    .context("unknown trigger response in the database")?,
            },
            author_id: row.author_id,
            author_name: row.author_name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The columns `TriggerAuth` maps to.
struct TriggerAuthColumns<'a> {
    pub kind: &'static str,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
    pub token: Option<&'a [u8]>,
    pub scheme: Option<String>,
}

fn trigger_auth_columns(auth: &TriggerAuth) -> TriggerAuthColumns<'_> {
    let none = TriggerAuthColumns {
        kind: "none",
        username: None,
        password: None,
        token: None,
        scheme: None,
    };
    match auth {
        TriggerAuth::None => none,
        TriggerAuth::Basic { username, password } => TriggerAuthColumns {
            kind: "basic",
            username: Some(username),
            password: Some(password.0.as_slice()),
            ..none
        },
        TriggerAuth::Bearer { token } => TriggerAuthColumns {
            kind: "bearer",
            token: token.as_ref().map(|t| t.0.as_slice()),
            ..none
        },
        TriggerAuth::Signature { scheme, secret } => TriggerAuthColumns {
            kind: "signature",
            password: Some(secret.0.as_slice()),
            scheme: Some(scheme.to_column()),
            ..none
        },
    }
}

/// One call of a trigger URL as logged.
const SELECT_TRIGGER_CALLS: &str =
    "SELECT id, called_at, count, last_called_at, caller, outcome, status_code, event_id, reason
    FROM trigger_calls";

#[derive(sqlx::FromRow)]
struct TriggerCallRow {
    id: i64,
    called_at: i64,
    count: i64,
    last_called_at: Option<i64>,
    caller: String,
    outcome: String,
    status_code: i64,
    event_id: Option<String>,
    reason: Option<String>,
}

impl From<TriggerCallRow> for TriggerCall {
    fn from(row: TriggerCallRow) -> Self {
        TriggerCall {
            id: row.id,
            called_at: row.called_at,
            count: u32::try_from(row.count).unwrap_or(u32::MAX),
            last_called_at: row.last_called_at,
            caller: row.caller,
            outcome: row.outcome,
            status_code: row.status_code as u16,
            event_id: row.event_id,
            reason: row.reason,
        }
    }
}
