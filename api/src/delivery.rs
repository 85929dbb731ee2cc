use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /api/events`: one event a host application publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[a-z0-9_-]{1,64}\.[a-z0-9_-]{1,64}$")
    )]
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: serde_json::Value,
    /// 1–200 printable characters: an event published again with a key
    /// accepted in the last 7 days is not accepted twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub idempotency_key: Option<String>,
    /// 1–200 printable characters: the events of one key reach each webhook
    /// one at a time, in the order they were accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub ordering_key: Option<String>,
}

/// `POST /api/events` with `{"events": [...]}`: all accepted or none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventBatchIn {
    pub events: Vec<EventIn>,
}

/// An accepted event and how many deliveries it queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventAccepted {
    pub id: String,
    pub deliveries: usize,
    /// Its idempotency key was accepted before: `id` and `deliveries` are
    /// the first event's, and nothing new was queued.
    #[serde(default)]
    pub duplicate: bool,
}

/// One HTTP request hookhub sent, credentials masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// What the receiver answered; the body is cut at 64 KiB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub body_truncated: bool,
}

/// One try at delivering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptOut {
    pub delivery_id: String,
    /// `succeeded` or `failed`.
    pub status: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub request: AttemptRequest,
    pub response: Option<AttemptResponse>,
    /// `timeout`, `connect`, `dns`, `tls`, `refused-private-target`,
    /// `invalid-response` (not HTTP) or `http-status`.
    pub error_class: Option<String>,
    /// The failure as the client library said it, whole.
    pub error: Option<String>,
    /// The failure in a few words ("connection refused", "HTTP 404"), as
    /// lists and `last_error` say it.
    pub error_words: Option<String>,
    /// What to do about it, in a sentence.
    pub error_hint: Option<String>,
}

/// Where a delivery stands. `paused`: waiting, never attempted, while
/// hookhub has its webhook switched off; it goes out once the webhook is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Retrying,
    Succeeded,
    Failed,
    Paused,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 5] = [
        Self::Pending,
        Self::Retrying,
        Self::Succeeded,
        Self::Failed,
        Self::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Still to be attempted (again).
    pub fn in_progress(self) -> bool {
        matches!(self, Self::Pending | Self::Retrying)
    }
}

/// A delivery: one event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryOut {
    /// Also the `webhook-id` header of every attempt.
    pub id: String,
    pub webhook_id: String,
    /// So that a reader needs no access to webhooks to know where it went.
    #[serde(default)]
    pub webhook_name: String,
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempt_count: u32,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<u64>,
    pub created_at: String,
    /// Its event's ordering key (`ticket/42` for the object store's events).
    #[serde(default)]
    pub ordering_key: Option<String>,
    /// The earlier delivery of its key that it waits for, while it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waits_for: Option<String>,
    /// A probe: a `webhook.test` hookhub sent to a webhook it switched off,
    /// to see whether the receiver is back.
    #[serde(default)]
    pub probe: bool,
}

/// `GET /api/deliveries/{id}`: the delivery with every attempt, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    pub attempts: Vec<AttemptOut>,
}

/// `GET /api/attention`: what wants an administrator's eyes, for the
/// console's sidebar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attention {
    /// Webhooks hookhub switched off (failures or `410 Gone`).
    pub disabled_webhooks: u64,
    /// Deliveries that failed for good in the last 24 hours.
    pub failed_deliveries: u64,
}

/// `GET /api/deliveries/stats`: attempts per time bucket, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptStats {
    pub bucket_seconds: u64,
    pub buckets: Vec<StatsBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsBucket {
    pub start: String,
    pub succeeded: u64,
    pub failed: u64,
}

/// `POST /api/webhooks/{id}/recover`: queue again what failed in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecoverIn {
    /// RFC 3339; deliveries created at or after this time.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub since: String,
    /// RFC 3339; deliveries created before this time (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoverOut {
    pub queued: u64,
}
