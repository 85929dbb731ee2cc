use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fields::{not_null, present};

/// The HTTP method a webhook is delivered with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum DeliveryMethod {
    #[default]
    Post,
    Put,
    Patch,
}

impl DeliveryMethod {
    pub const ALL: [DeliveryMethod; 3] = [Self::Post, Self::Put, Self::Patch];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
        }
    }
}

/// Authentication as written by a client. A missing password or token on
/// update keeps the stored one, so that a form can be saved without retyping it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AuthIn {
    None,
    Basic {
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    Bearer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
}

/// Which kind of authentication: the `type` of `AuthIn` and `Auth`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    #[default]
    None,
    Basic,
    Bearer,
}

impl AuthType {
    pub const ALL: [AuthType; 3] = [Self::None, Self::Basic, Self::Bearer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Basic => "basic",
            Self::Bearer => "bearer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// As a form's choice reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Basic => "Basic",
            Self::Bearer => "Bearer token",
        }
    }
}

/// Authentication as the API shows it: credentials never leave the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Auth {
    None,
    Basic {
        username: String,
        password_set: bool,
    },
    Bearer {
        token_set: bool,
    },
}

impl Auth {
    pub fn kind(&self) -> AuthType {
        match self {
            Self::None => AuthType::None,
            Self::Basic { .. } => AuthType::Basic,
            Self::Bearer { .. } => AuthType::Bearer,
        }
    }
}

/// The writable fields of a webhook. `POST` needs `name` and `url`; `PATCH`
/// takes any subset. Field types are checked by serde, values by the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    #[serde(
        default,
        alias = "uri",
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    #[serde(
        default,
        alias = "triggers",
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub events: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub active: Option<bool>,
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub method: Option<DeliveryMethod>,
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth: Option<AuthIn>,
    /// Absent: unchanged. `null` or `""`: none. `"root/result"`: nest there.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub data_location: Option<Option<String>>,
    /// Extra request headers. A value given as `null` keeps the stored value
    /// of that header (values are never shown, so a form cannot send them back).
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub headers: Option<BTreeMap<String, Option<String>>>,
    /// A payload filter (SPEC.md, "Payload filters"): only events it matches
    /// make a delivery. Absent: unchanged; `null`: none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub filter: Option<Option<serde_json::Value>>,
    /// Deliveries per second at most, 1 to 10,000: the rest wait in the
    /// queue. Absent: unchanged; `null`: no limit.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1, maximum = 10000))]
    pub rate_limit: Option<Option<u32>>,
    /// Waits before each retry, e.g. `["10s", "1m", "1h"]` (1 to 20 steps,
    /// each 1s to 24h); after the last a delivery fails. Absent: unchanged;
    /// `null`: the server's `--retry-schedule`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub retry_schedule: Option<Option<Vec<String>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    pub id: String,
    pub name: String,
}

/// What the caller may do with this resource.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Permissions {
    pub edit: bool,
    pub delete: bool,
}

/// How deliveries to a webhook have been going.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookHealth {
    pub state: HealthState,
    /// Share of recent attempts that succeeded, 0.0–1.0; `null` before the first.
    pub success_rate: Option<f64>,
    pub consecutive_failures: u32,
    /// Why hookhub switched the webhook off, if it did.
    pub disabled_reason: Option<String>,
    /// Since when the webhook is off, whoever switched it off.
    #[serde(default)]
    pub disabled_at: Option<String>,
    #[serde(default)]
    pub last_attempt_at: Option<String>,
    /// The last attempt's failure in a few words ("HTTP 500", "connection
    /// refused"); `null` after a success.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Deliveries waiting, paused, for the webhook to be on again.
    #[serde(default)]
    pub paused_deliveries: u64,
    /// While hookhub has the webhook switched off: when it probes it next.
    #[serde(default)]
    pub next_probe_at: Option<String>,
}

/// A webhook's state at a glance, from the first that applies: switched
/// off, never attempted, failing since its last success, healthy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    Failing,
    Disabled,
    #[default]
    NeverCalled,
}

impl HealthState {
    pub fn of(active: bool, attempted: bool, consecutive_failures: u32) -> Self {
        if !active {
            Self::Disabled
        } else if !attempted {
            Self::NeverCalled
        } else if consecutive_failures > 0 {
            Self::Failing
        } else {
            Self::Healthy
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Failing => "failing",
            Self::Disabled => "disabled",
            Self::NeverCalled => "never_called",
        }
    }
}

/// A webhook as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookOut {
    pub id: String,
    pub content_type: String,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub method: DeliveryMethod,
    pub auth: Auth,
    pub data_location: Option<String>,
    /// Extra request headers: every value shows as `***` (see `HeaderOut`).
    pub headers: BTreeMap<String, String>,
    /// Only events this matches make a delivery; `null`: every event of its types.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub filter: Option<serde_json::Value>,
    /// Deliveries per second at most; `null`: no limit.
    #[serde(default)]
    pub rate_limit: Option<u32>,
    /// Waits before each retry; `null`: the server's `--retry-schedule`.
    #[serde(default)]
    pub retry_schedule: Option<Vec<String>>,
    pub author: Author,
    pub permissions: Permissions,
    pub created_at: String,
    pub updated_at: String,
    pub health: WebhookHealth,
}

/// `GET /api/deliveries/webhooks`: a webhook as every reader of the logs may
/// see it, viewers included: what it is called and how it is doing, not
/// where it points or how it authenticates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookSummary {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub health: WebhookHealth,
}

/// `GET /api/webhooks/{id}/headers/{name}`: one extra header's value, on demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeaderOut {
    pub name: String,
    pub value: String,
}

/// `GET /api/webhooks/{id}/secret`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretOut {
    pub secret: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_data_location_differs_from_a_missing_one() {
        let missing: WebhookIn = serde_json::from_str("{}").unwrap();
        let null: WebhookIn = serde_json::from_str(r#"{"data_location": null}"#).unwrap();
        assert_eq!(missing.data_location, None);
        assert_eq!(null.data_location, Some(None));
    }

    #[test]
    fn uri_and_triggers_are_aliases() {
        let w: WebhookIn =
            serde_json::from_str(r#"{"uri": "https://x.test", "triggers": ["a.create"]}"#).unwrap();
        assert_eq!(w.url.as_deref(), Some("https://x.test"));
        assert_eq!(w.events, Some(vec!["a.create".to_string()]));
    }

    #[test]
    fn auth_shows_that_a_password_is_set_without_showing_it() {
        let auth = Auth::Basic {
            username: "u".into(),
            password_set: true,
        };
        assert_eq!(
            serde_json::to_value(auth).unwrap(),
            serde_json::json!({"type": "basic", "username": "u", "password_set": true})
        );
    }

    #[test]
    fn an_auth_type_is_written_as_the_type_tag_of_its_auth() {
        let shown = [
            Auth::None,
            Auth::Basic {
                username: "u".into(),
                password_set: true,
            },
            Auth::Bearer { token_set: false },
        ];
        for auth in shown {
            let tag = serde_json::to_value(&auth).unwrap()["type"].clone();
            assert_eq!(tag, serde_json::to_value(auth.kind()).unwrap());
            assert_eq!(AuthType::parse(tag.as_str().unwrap()), Some(auth.kind()));
        }
    }
}

/// `POST /api/webhooks/preview`: the request a sample event would produce with
/// these settings (applied to webhook `id` when given, as in an edit form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub webhook: WebhookIn,
}

/// `POST /api/webhooks/preview`: the request a sample event would make, and
/// whether the webhook's filter takes that event (`null` without a filter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewOut {
    #[serde(flatten)]
    pub request: crate::AttemptRequest,
    #[serde(default)]
    pub filter_matches: Option<bool>,
}
