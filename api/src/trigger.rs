use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Auth, AuthIn, Author, Permissions};

/// The writable fields of a trigger; `POST` needs `name`, `PATCH` takes any subset.
/// Bearer tokens are never written: `POST /api/triggers/{id}/token` generates one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `GET` or `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Parameter name to the value a call must carry, e.g. `{"CityName": "Paris"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthIn>,
    /// Default `trigger.<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// `outputs` (the event and its deliveries) or `status` (`{"status": "accepted"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerOut {
    pub id: String,
    pub content_type: String,
    pub name: String,
    pub method: String,
    pub params: BTreeMap<String, String>,
    pub auth: Auth,
    pub event_type: String,
    pub response: String,
    /// The URL outside systems call.
    pub hook_url: String,
    pub author: Author,
    pub permissions: Permissions,
    pub created_at: String,
    pub updated_at: String,
}

/// One call of a trigger URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerCallOut {
    pub called_at: String,
    pub caller: String,
    /// `accepted`, `unauthorized`, `method_not_allowed` or `invalid`.
    pub outcome: String,
    pub status_code: u16,
    pub event_id: Option<String>,
}

/// A delivery queued by a trigger call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub id: String,
    pub webhook_id: String,
}

/// The event a trigger call started (response mode `outputs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerOutputs {
    pub event: TriggeredEvent,
    pub deliveries: Vec<QueuedDelivery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggeredEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: serde_json::Value,
}
