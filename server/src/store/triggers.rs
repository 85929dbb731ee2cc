//! Inbound triggers and the log of their calls.

use std::collections::BTreeMap;

use super::{NewEvent, Position, QueuedEvent, Sealed};
use crate::model::{TriggerMethod, TriggerResponse};
use crate::security::TokenHash;
use crate::security::inbound::Scheme;

/// How callers prove who they are.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerAuth {
    None,
    Basic {
        username: String,
        password: Sealed,
    },
    /// `None` until a token is generated: until then every call is refused.
    Bearer {
        token: Option<TokenHash>,
    },
    /// The caller signs the body with a secret both sides hold.
    Signature {
        scheme: Scheme,
        secret: Sealed,
    },
}

/// Everything a client may set on a trigger, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerSettings {
    pub name: String,
    pub method: TriggerMethod,
    pub params: BTreeMap<String, String>,
    pub auth: TriggerAuth,
    pub event_type: String,
    pub response: TriggerResponse,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub id: String,
    pub slug: String,
    pub settings: TriggerSettings,
    pub author_id: String,
    pub author_name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One call of a trigger URL, or several refused alike (see `count_trigger_calls`).
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerCall {
    pub id: i64,
    pub called_at: i64,
    /// The calls this row stands for: 1, or more refused alike after the first.
    pub count: u32,
    /// When the last of them came, if more than one.
    pub last_called_at: Option<i64>,
    pub caller: String,
    pub outcome: String,
    pub status_code: u16,
    pub event_id: Option<String>,
    /// Why it was refused, when the outcome does not say it all.
    pub reason: Option<String>,
}

#[async_trait::async_trait]
pub trait TriggerStore: Send + Sync {
    async fn create_trigger(
        &self,
        settings: &TriggerSettings,
        author_id: &str,
        slug: &str,
    ) -> anyhow::Result<Trigger>;

    async fn triggers(
        &self,
        after: Option<Position<'_>>,
        limit: u32,
    ) -> anyhow::Result<Vec<Trigger>>;

    async fn trigger(&self, id: &str) -> anyhow::Result<Option<Trigger>>;

    async fn trigger_by_slug(&self, slug: &str) -> anyhow::Result<Option<Trigger>>;

    /// Replaces a trigger's settings; `false` if there is no such trigger.
    async fn update_trigger(&self, id: &str, settings: &TriggerSettings) -> anyhow::Result<bool>;

    async fn delete_trigger(&self, id: &str) -> anyhow::Result<bool>;

    /// Replaces a bearer trigger's token; `false` if there is no bearer trigger with this id.
    async fn set_trigger_token(&self, id: &str, token: TokenHash) -> anyhow::Result<bool>;

    /// Logs a refused call, and why if there is more to say; the row's id.
    async fn log_trigger_call(
        &self,
        trigger_id: &str,
        caller: &str,
        outcome: &str,
        status_code: u16,
        reason: Option<&str>,
    ) -> anyhow::Result<i64>;
    /// Adds `more` calls refused alike to a logged one, the last at `last_called_at`.
    async fn count_trigger_calls(
        &self,
        id: i64,
        more: u32,
        last_called_at: i64,
    ) -> anyhow::Result<()>;
    /// Accepts a call: its event, the deliveries and the call's log line in one transaction.
    async fn accept_trigger_call(
        &self,
        trigger_id: &str,
        caller: &str,
        event: NewEvent,
        status_code: u16,
    ) -> anyhow::Result<QueuedEvent>;

    /// A page of a trigger's calls, newest first, with `outcome` if given,
    /// logged before the call `before`.
    async fn trigger_calls(
        &self,
        trigger_id: &str,
        outcome: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> anyhow::Result<Vec<TriggerCall>>;
}
