//! Rows as the SQL backends read and write them. The tables have the same
//! columns on SQLite and PostgreSQL (tests/api/postgres.rs keeps them
//! alike), so one conversion to and from the domain types serves both.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::operator::{DisabledWebhook, FailedDelivery};
use super::outbox::{Deferred, Subscriber};
use super::{
    AttemptRecord, BodySource, Caller, Delivery, DeliveryFilter, Job, QueueDepth, Sealed,
    SigningSecrets, StoredAuth, Trigger, TriggerAuth, TriggerCall, TriggerSettings, User, Webhook,
    WebhookSettings,
};
use crate::events::Event;
use crate::model::{
    AttemptRequest, AttemptResponse, DeliveryMethod, DeliveryStatus, Role, TriggerMethod,
    TriggerResponse,
};
use crate::security::TokenHash;
use crate::time::now_ms;

/// The webhooks an event may go to: those on, and those hookhub switched
/// off (their deliveries wait, paused).
pub const SELECT_SUBSCRIBERS: &str =
    "SELECT id, events, NOT active AS paused, created_at FROM webhooks
     WHERE active OR disabled_reason IS NOT NULL";

#[derive(sqlx::FromRow)]
pub struct SubscriberRow {
    id: String,
    events: String,
    paused: bool,
    created_at: i64,
}

impl TryFrom<SubscriberRow> for Subscriber {
    type Error = anyhow::Error;

    fn try_from(row: SubscriberRow) -> anyhow::Result<Self> {
        Ok(Self {
            id: row.id,
            patterns: serde_json::from_str(&row.events).context("webhook events")?,
            paused: row.paused,
            created_at: row.created_at,
        })
    }
}

/// An event whose deliveries wait to be written, with what they need of it.
pub const SELECT_DEFERRED: &str = "SELECT f.event_id, e.type AS event_type, e.created_at
    FROM fanouts f JOIN events e ON e.id = f.event_id";

#[derive(sqlx::FromRow)]
pub struct DeferredRow {
    event_id: String,
    event_type: String,
    created_at: i64,
}

impl From<DeferredRow> for Deferred {
    fn from(row: DeferredRow) -> Self {
        Self {
            event_id: row.event_id,
            event_type: row.event_type,
            created_at: row.created_at,
        }
    }
}

/// The columns every webhook query selects, webhooks as `w`, users as `u`.
pub const SELECT_WEBHOOK: &str = "
    SELECT w.id, w.name, w.url, w.events, w.active, w.method, w.auth_type, w.auth_username,
           w.auth_secret, w.data_location, w.headers, w.headers_sealed, w.author_id, u.username AS author_name,
           w.consecutive_failures, w.disabled_reason, w.disabled_at, w.last_attempt_at, w.last_error,
           w.next_probe_at, w.created_at, w.updated_at
    FROM webhooks w JOIN users u ON u.id = w.author_id";

#[derive(sqlx::FromRow)]
pub struct WebhookRow {
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
pub fn headers_column(headers: &BTreeMap<String, Sealed>) -> anyhow::Result<String> {
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
pub fn webhook_auth_columns(auth: &StoredAuth) -> (&'static str, Option<&str>, Option<&[u8]>) {
    match auth {
        StoredAuth::None => ("none", None, None),
        StoredAuth::Basic { username, password } => {
            ("basic", Some(username), Some(password.0.as_slice()))
        }
        StoredAuth::Bearer { token } => ("bearer", None, Some(token.0.as_slice())),
    }
}

/// A webhook's signing secrets as stored.
pub const SELECT_SIGNING_SECRETS: &str =
    "SELECT secret, previous_secret, previous_secret_until FROM webhooks";

#[derive(sqlx::FromRow)]
pub struct SigningSecretsRow {
    secret: Vec<u8>,
    previous_secret: Option<Vec<u8>>,
    previous_secret_until: Option<i64>,
}

impl From<SigningSecretsRow> for SigningSecrets {
    /// The previous secret only while it still signs.
    fn from(row: SigningSecretsRow) -> Self {
        let until = row.previous_secret_until;
        SigningSecrets {
            current: Sealed(row.secret),
            previous: row
                .previous_secret
                .filter(|_| until.is_some_and(|t| t > now_ms()))
                .map(Sealed),
        }
    }
}

/// The queue as `/metrics` shows it. `paused` is counted by name so that
/// the gauge reads 0, not absent, while no delivery is paused.
pub const SELECT_QUEUE_DEPTH: &str = "SELECT
     (SELECT count(*) FROM deliveries WHERE status = 'pending') AS pending,
     (SELECT count(*) FROM deliveries WHERE status = 'retrying') AS retrying,
     (SELECT count(*) FROM deliveries WHERE status = 'paused') AS paused,
     (SELECT min(next_attempt_at) FROM deliveries WHERE next_attempt_at IS NOT NULL) AS oldest_due_at";

#[derive(sqlx::FromRow)]
pub struct QueueDepthRow {
    pending: i64,
    retrying: i64,
    paused: i64,
    oldest_due_at: Option<i64>,
}

impl From<QueueDepthRow> for QueueDepth {
    fn from(row: QueueDepthRow) -> Self {
        QueueDepth {
            pending: row.pending as u64,
            retrying: row.retrying as u64,
            paused: row.paused as u64,
            oldest_due_at: row.oldest_due_at,
        }
    }
}

/// A webhook switched off, as `UPDATE ... RETURNING` reads it.
pub const DISABLED_COLUMNS: &str = "id, name, url, disabled_reason, last_error, disabled_at";

#[derive(sqlx::FromRow)]
pub struct DisabledRow {
    id: String,
    name: String,
    url: String,
    disabled_reason: Option<String>,
    last_error: Option<String>,
    disabled_at: Option<i64>,
}

impl From<DisabledRow> for DisabledWebhook {
    fn from(row: DisabledRow) -> Self {
        DisabledWebhook {
            id: row.id,
            name: row.name,
            url: row.url,
            reason: row.disabled_reason,
            last_error: row.last_error,
            disabled_at: row.disabled_at,
        }
    }
}

/// A delivery failed for good, with what its operator event tells.
pub const SELECT_FAILED: &str = "SELECT id, webhook_id, event_id, event_type, attempt_count,
     last_status_code, last_error FROM deliveries";

#[derive(sqlx::FromRow)]
pub struct FailedRow {
    id: String,
    webhook_id: String,
    event_id: String,
    event_type: String,
    attempt_count: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
}

impl From<FailedRow> for FailedDelivery {
    fn from(row: FailedRow) -> Self {
        FailedDelivery {
            id: row.id,
            webhook_id: row.webhook_id,
            event_id: row.event_id,
            event_type: row.event_type,
            attempts: row.attempt_count,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
        }
    }
}

/// The columns every trigger query selects, triggers as `t`, users as `u`.
pub const SELECT_TRIGGER: &str = "
    SELECT t.id, t.slug, t.name, t.method, t.params, t.auth_type, t.auth_username, t.auth_password,
           t.token_hash, t.event_type, t.response, t.author_id, u.username AS author_name,
           t.created_at, t.updated_at
    FROM triggers t JOIN users u ON u.id = t.author_id";

#[derive(sqlx::FromRow)]
pub struct TriggerRow {
    id: String,
    slug: String,
    name: String,
    method: String,
    params: String,
    auth_type: String,
    auth_username: Option<String>,
    auth_password: Option<Vec<u8>>,
    token_hash: Option<Vec<u8>>,
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
pub struct TriggerAuthColumns<'a> {
    pub kind: &'static str,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
    pub token: Option<&'a [u8]>,
}

pub fn trigger_auth_columns(auth: &TriggerAuth) -> TriggerAuthColumns<'_> {
    let none = TriggerAuthColumns {
        kind: "none",
        username: None,
        password: None,
        token: None,
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
    }
}

pub fn parse_role(text: &str) -> anyhow::Result<Role> {
    Role::parse(text).with_context(|| format!("unknown role `{text}` in the database"))
}

#[derive(sqlx::FromRow)]
pub struct UserRow {
    id: String,
    username: String,
    role: String,
    active: bool,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = anyhow::Error;

    fn try_from(row: UserRow) -> anyhow::Result<Self> {
        Ok(User {
            id: row.id,
            username: row.username,
            role: parse_role(&row.role)?,
            active: row.active,
            created_at: row.created_at,
        })
    }
}

/// One call of a trigger URL as logged.
pub const SELECT_TRIGGER_CALLS: &str = "SELECT id, called_at, count, last_called_at, caller, outcome, status_code, event_id FROM trigger_calls";

#[derive(sqlx::FromRow)]
pub struct TriggerCallRow {
    id: i64,
    called_at: i64,
    count: i64,
    last_called_at: Option<i64>,
    caller: String,
    outcome: String,
    status_code: i64,
    event_id: Option<String>,
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
        }
    }
}

/// The user behind a token, `t` the tokens and `u` the users.
pub const SELECT_CALLER: &str = "SELECT t.token_hash, t.expires_at, u.id, u.username, u.role
    FROM api_tokens t JOIN users u ON u.id = t.user_id";

#[derive(sqlx::FromRow)]
pub struct CallerRow {
    token_hash: Vec<u8>,
    expires_at: Option<i64>,
    id: String,
    username: String,
    role: String,
}

impl CallerRow {
    /// The caller, and until when its token lives, if the row's hash is that
    /// of `token`: the index found the row by hash, and this compares once
    /// more in constant time, so that no code path compares token material
    /// with an early exit.
    pub fn caller_of(self, token: &str) -> anyhow::Result<Option<(Caller, Option<i64>)>> {
        let Ok(stored) = <[u8; 32]>::try_from(self.token_hash.as_slice()) else {
            return Ok(None);
        };
        if !TokenHash(stored).matches(token) {
            return Ok(None);
        }
        let caller = Caller {
            id: self.id,
            username: self.username,
            role: parse_role(&self.role)?,
        };
        Ok(Some((caller, self.expires_at)))
    }
}

/// The columns every delivery query selects, with its webhook's name.
pub const SELECT_DELIVERY: &str =
    "SELECT id, webhook_id, event_id, event_type, status, attempt_count,
    next_attempt_at, last_status_code, last_error, last_duration_ms, created_at, probe,
    (SELECT name FROM webhooks WHERE webhooks.id = deliveries.webhook_id) AS webhook_name
    FROM deliveries";

#[derive(sqlx::FromRow)]
pub struct DeliveryRow {
    id: String,
    webhook_id: String,
    webhook_name: Option<String>,
    event_id: String,
    event_type: String,
    status: String,
    attempt_count: i64,
    next_attempt_at: Option<i64>,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    last_duration_ms: Option<i64>,
    created_at: i64,
    probe: bool,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = anyhow::Error;

    fn try_from(row: DeliveryRow) -> anyhow::Result<Self> {
        Ok(Delivery {
            id: row.id,
            webhook_id: row.webhook_id,
            webhook_name: row.webhook_name.unwrap_or_default(),
            event_id: row.event_id,
            event_type: row.event_type,
            status: DeliveryStatus::parse(&row.status).with_context(|| {
                format!("unknown delivery status `{}` in the database", row.status)
            })?,
            attempt_count: row.attempt_count as u32,
            next_attempt_at: row.next_attempt_at,
            last_status_code: row.last_status_code.map(|c| c as u16),
            last_error: row.last_error,
            last_duration_ms: row.last_duration_ms.map(|d| d as u64),
            created_at: row.created_at,
            probe: row.probe,
        })
    }
}

/// Appends the conditions of `filter` and the page boundary `before` to a
/// query on `deliveries` that ends in `WHERE TRUE`.
pub fn push_delivery_filter<'a, DB>(
    query: &mut sqlx::QueryBuilder<'a, DB>,
    filter: &'a DeliveryFilter,
    before: Option<&'a str>,
) where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some(webhook_id) = &filter.webhook_id {
        query
            .push(" AND webhook_id = ")
            .push_bind(webhook_id.as_str());
    }
    if let Some(status) = &filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    match filter.event_type.as_deref() {
        None | Some("*") => {}
        // A range on the index: every type from `module.` up to `module/`
        // (in byte order: on PostgreSQL the column's collation is "C").
        Some(pattern) => match pattern.strip_suffix(".*") {
            Some(module) => {
                query
                    .push(" AND event_type >= ")
                    .push_bind(format!("{module}."));
                query
                    .push(" AND event_type < ")
                    .push_bind(format!("{module}/"));
            }
            None => {
                query.push(" AND event_type = ").push_bind(pattern);
            }
        },
    }
    if let Some(search) = &filter.search {
        query.push(" AND event_id = ").push_bind(search.as_str());
    }
    if let Some(since) = filter.since {
        query.push(" AND created_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        query.push(" AND created_at < ").push_bind(until);
    }
    if let Some(before) = before {
        query.push(" AND id < ").push_bind(before);
    }
}

/// The columns every attempt query selects.
pub const ATTEMPT_COLUMNS: &str =
    "delivery_id, webhook_id, started_at, duration_ms, request_method,
    request_url, request_headers, request_body, body_from_event, body_location, response_status,
    response_headers, response_body, response_truncated, error_class, error";

#[derive(sqlx::FromRow)]
pub struct AttemptRow {
    delivery_id: String,
    webhook_id: String,
    started_at: i64,
    duration_ms: i64,
    request_method: String,
    request_url: String,
    request_headers: String,
    request_body: String,
    body_from_event: bool,
    body_location: Option<String>,
    response_status: Option<i64>,
    response_headers: Option<String>,
    response_body: Option<String>,
    response_truncated: bool,
    error_class: Option<String>,
    error: Option<String>,
}

impl TryFrom<AttemptRow> for AttemptRecord {
    type Error = anyhow::Error;

    fn try_from(row: AttemptRow) -> anyhow::Result<Self> {
        let response = match row.response_status {
            Some(status) => Some(AttemptResponse {
                status_code: status as u16,
                headers: serde_json::from_str(row.response_headers.as_deref().unwrap_or("{}"))?,
                body: row.response_body.unwrap_or_default(),
                body_truncated: row.response_truncated,
            }),
            None => None,
        };
        Ok(AttemptRecord {
            delivery_id: row.delivery_id,
            webhook_id: row.webhook_id,
            started_at: row.started_at,
            duration_ms: row.duration_ms as u64,
            request: AttemptRequest {
                method: row.request_method,
                url: row.request_url,
                headers: serde_json::from_str(&row.request_headers)?,
                body: row.request_body,
            },
            body_source: if row.body_from_event {
                BodySource::Event {
                    data_location: row.body_location,
                }
            } else {
                BodySource::Stored
            },
            response,
            error_class: row.error_class,
            error: row.error,
        })
    }
}

/// An attempt's columns as written: JSON encoded, the body left out when it
/// is rendered from the event.
pub struct AttemptColumns<'a> {
    pub attempt: &'a AttemptRecord,
    pub request_headers: String,
    pub request_body: &'a str,
    pub body_from_event: bool,
    pub body_location: Option<&'a str>,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<&'a str>,
    pub response_truncated: bool,
}

impl<'a> AttemptColumns<'a> {
    pub fn of(attempt: &'a AttemptRecord) -> anyhow::Result<Self> {
        let response = attempt.response.as_ref();
        let (request_body, body_from_event, body_location) = match &attempt.body_source {
            BodySource::Event { data_location } => ("", true, data_location.as_deref()),
            BodySource::Stored => (attempt.request.body.as_str(), false, None),
        };
        Ok(Self {
            attempt,
            request_headers: serde_json::to_string(&attempt.request.headers)?,
            request_body,
            body_from_event,
            body_location,
            response_status: response.map(|r| i64::from(r.status_code)),
            response_headers: response
                .map(|r| serde_json::to_string(&r.headers))
                .transpose()?,
            response_body: response.map(|r| r.body.as_str()),
            response_truncated: response.is_some_and(|r| r.body_truncated),
        })
    }
}

/// The columns every event query selects, events as `e`.
pub const EVENT_COLUMNS: &str = "e.id, e.type, e.data, e.changed_fields, e.previous, e.created_at";

#[derive(sqlx::FromRow)]
pub struct EventRow {
    id: String,
    #[sqlx(rename = "type")]
    event_type: String,
    data: String,
    changed_fields: Option<String>,
    previous: Option<String>,
    created_at: i64,
}

impl TryFrom<EventRow> for Event {
    type Error = anyhow::Error;

    fn try_from(row: EventRow) -> anyhow::Result<Self> {
        let change = match (row.changed_fields, row.previous) {
            (Some(fields), Some(previous)) => Some((
                serde_json::from_str::<Vec<String>>(&fields)?,
                serde_json::from_str::<Map<String, Value>>(&previous)?,
            )),
            _ => None,
        };
        Ok(Event {
            id: row.id,
            event_type: row.event_type,
            data: serde_json::from_str(&row.data)?,
            change,
            created_at: row.created_at,
        })
    }
}

/// The columns of a claimed delivery (`d`) and its event (`e`).
pub const JOB_COLUMNS: &str =
    "d.id AS delivery_id, d.webhook_id, d.attempt_count, d.single_attempt, e.id, e.type, e.data,
     e.changed_fields, e.previous, e.created_at";

#[derive(sqlx::FromRow)]
pub struct JobRow {
    delivery_id: String,
    webhook_id: String,
    attempt_count: i64,
    single_attempt: bool,
    #[sqlx(flatten)]
    event: EventRow,
}

/// Claimed deliveries as jobs; the deliveries of one event to several
/// webhooks share one copy of it.
pub fn jobs_from(rows: Vec<JobRow>, lease_until: i64) -> anyhow::Result<Vec<Job>> {
    let mut events: HashMap<String, Arc<Event>> = HashMap::new();
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let bytes = row.event.data.len();
        let event = match events.get(&row.event.id) {
            Some(event) => event.clone(),
            None => {
                let event = Arc::new(Event::try_from(row.event)?);
                events.insert(event.id.clone(), event.clone());
                event
            }
        };
        jobs.push(Job {
            delivery_id: row.delivery_id,
            webhook_id: row.webhook_id,
            attempt_count: row.attempt_count as u32,
            single_attempt: row.single_attempt,
            lease_until,
            event,
            bytes,
        });
    }
    Ok(jobs)
}
