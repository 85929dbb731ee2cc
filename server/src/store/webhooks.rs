//! Webhooks as stored: settings validated, credentials and header values sealed.

use std::collections::BTreeMap;

use super::Position;
use crate::model::DeliveryMethod;

/// A credential encrypted with the server's key (see `security::Cipher`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed(pub Vec<u8>);

/// Target authentication as stored: secrets sealed.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredAuth {
    None,
    Basic { username: String, password: Sealed },
    Bearer { token: Sealed },
}

/// Everything a client may set on a webhook, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub method: DeliveryMethod,
    pub auth: StoredAuth,
    pub data_location: Option<String>,
    /// Extra request headers: names in the clear, values sealed.
    pub headers: BTreeMap<String, Sealed>,
    /// A payload filter, checked (`filter::Filter::compile`): only events
    /// it matches make a delivery.
    pub filter: Option<serde_json::Value>,
    /// Deliveries per second at most.
    pub rate_limit: Option<u32>,
    /// Waits before each retry, instead of the server's.
    pub retry_schedule: Option<Vec<std::time::Duration>>,
}

/// A stored webhook. Its signing secrets are read separately, on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub settings: WebhookSettings,
    pub author_id: String,
    pub author_name: String,
    pub consecutive_failures: u32,
    /// Why hookhub switched it off; `None` when it is on or an administrator switched it off.
    pub disabled_reason: Option<String>,
    /// Since when it is off, whoever switched it off.
    pub disabled_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// The last attempt's failure in a few words; `None` after a success.
    pub last_error: Option<String>,
    /// While hookhub has it switched off: when it probes it next.
    pub next_probe_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a change does to whether a webhook is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Left as it is (hookhub may have switched it off meanwhile).
    Keep,
    /// Switched on by an administrator.
    On,
    /// Switched off by an administrator, even if hookhub had switched it off.
    Off,
}

impl Switch {
    /// From `active` as a change asks for it, if it does, and as it is.
    pub fn asked(asked: Option<bool>, active: bool) -> Self {
        match asked {
            Some(true) if !active => Self::On,
            Some(false) => Self::Off,
            _ => Self::Keep,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::On => "on",
            Self::Off => "off",
        }
    }
}

#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(
        &self,
        settings: &WebhookSettings,
        author_id: &str,
        secret: &Sealed,
    ) -> anyhow::Result<Webhook>;

    async fn webhooks(
        &self,
        after: Option<Position<'_>>,
        limit: u32,
    ) -> anyhow::Result<Vec<Webhook>>;

    async fn webhook(&self, id: &str) -> anyhow::Result<Option<Webhook>>;

    /// Replaces a webhook's settings but `active`, which `switch` decides;
    /// `false` if there is no such webhook. Switched on, its paused
    /// deliveries are released (`QueueStore::switch_back_on`); switched off, it is
    /// the administrator's: no more probes, no more deliveries recorded.
    async fn update_webhook(
        &self,
        id: &str,
        settings: &WebhookSettings,
        switch: Switch,
    ) -> anyhow::Result<bool>;

    /// Webhooks whose extra headers an earlier version stored in the clear.
    async fn plaintext_headers(&self) -> anyhow::Result<Vec<(String, BTreeMap<String, String>)>>;

    /// Replaces the clear headers of `id` with their sealed values.
    async fn seal_headers(
        &self,
        id: &str,
        headers: &BTreeMap<String, Sealed>,
    ) -> anyhow::Result<()>;

    /// `false` if there was no such webhook.
    async fn delete_webhook(&self, id: &str) -> anyhow::Result<bool>;

    /// The sealed current signing secret.
    async fn signing_secret(&self, id: &str) -> anyhow::Result<Option<Sealed>>;

    /// Makes `new` the signing secret; the old one keeps signing until `previous_until`.
    async fn rotate_secret(
        &self,
        id: &str,
        new: &Sealed,
        previous_until: i64,
    ) -> anyhow::Result<bool>;
}
