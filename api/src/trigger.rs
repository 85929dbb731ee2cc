use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, de};

use crate::fields::not_null;
use crate::{AuthIn, Author, Permissions};

/// The HTTP method a trigger URL answers; written in any case, shown in capitals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum TriggerMethod {
    Get,
    #[default]
    Post,
}

impl TriggerMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

impl<'de> Deserialize<'de> for TriggerMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_uppercase().as_str() {
            "GET" => Ok(Self::Get),
            "POST" => Ok(Self::Post),
            _ => Err(de::Error::custom("must be GET or POST")),
        }
    }
}

/// What a trigger call answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TriggerResponse {
    /// The event and its queued deliveries.
    #[default]
    Outputs,
    /// Only `{"status": "accepted"}`.
    Status,
}

impl TriggerResponse {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outputs => "outputs",
            Self::Status => "status",
        }
    }
}

/// How a sender signs what it sends (SPEC.md, the trigger `signature` auth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SignatureScheme {
    Github,
    Stripe,
    Shopify,
    Standard,
    Hmac,
}

impl SignatureScheme {
    pub const ALL: [Self; 5] = [
        Self::Github,
        Self::Stripe,
        Self::Shopify,
        Self::Standard,
        Self::Hmac,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Stripe => "stripe",
            Self::Shopify => "shopify",
            Self::Standard => "standard",
            Self::Hmac => "hmac",
        }
    }
}

/// The hash of a generic `hmac` signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    #[default]
    Sha256,
    Sha1,
}

/// How a generic `hmac` signature is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HmacEncoding {
    #[default]
    Hex,
    Base64,
}

/// A trigger's authentication as written: as a webhook's, or a signature the
/// caller computes over the raw body with a secret both sides hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TriggerAuthIn {
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
    Signature {
        scheme: SignatureScheme,
        /// Left out on an update, the stored secret is kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        /// `hmac` only: the header that carries the signature.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<String>,
        /// `hmac` only; `sha256` if left out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<HmacAlgorithm>,
        /// `hmac` only; `hex` if left out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<HmacEncoding>,
    },
}

impl From<AuthIn> for TriggerAuthIn {
    fn from(auth: AuthIn) -> Self {
        match auth {
            AuthIn::None => Self::None,
            AuthIn::Basic { username, password } => Self::Basic { username, password },
            AuthIn::Bearer { token } => Self::Bearer { token },
        }
    }
}

/// A trigger's authentication as the API shows it: secrets never, only
/// whether they are set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TriggerAuthOut {
    None,
    Basic {
        username: String,
        password_set: bool,
    },
    Bearer {
        token_set: bool,
    },
    Signature {
        scheme: SignatureScheme,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<HmacAlgorithm>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<HmacEncoding>,
        secret_set: bool,
    },
}

/// The writable fields of a trigger; `POST` needs `name`, `PATCH` takes any subset.
/// Bearer tokens are never written: `POST /api/triggers/{id}/token` generates one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TriggerIn {
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub method: Option<TriggerMethod>,
    /// Parameter name to the value a call must carry, e.g. `{"CityName": "Paris"}`.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub params: Option<BTreeMap<String, String>>,
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth: Option<TriggerAuthIn>,
    /// Default `trigger.<name>`.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[a-z0-9_-]{1,64}\.[a-z0-9_-]{1,64}$")
    )]
    pub event_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub response: Option<TriggerResponse>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriggerOut {
    pub id: String,
    pub content_type: String,
    pub name: String,
    pub method: TriggerMethod,
    pub params: BTreeMap<String, String>,
    pub auth: TriggerAuthOut,
    pub event_type: String,
    pub response: TriggerResponse,
    /// The URL outside systems call.
    pub hook_url: String,
    pub author: Author,
    pub permissions: Permissions,
    pub created_at: String,
    pub updated_at: String,
}

/// One call of a trigger URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriggerCallOut {
    pub called_at: String,
    /// The calls this entry stands for: refused calls alike (the same outcome
    /// within a minute) are counted in the first one's entry, not kept one by one.
    pub count: u32,
    /// When the last of them came, if `count` is more than 1.
    pub last_called_at: Option<String>,
    /// The address of the (first) caller.
    pub caller: String,
    /// `accepted`, `unauthorized`, `method_not_allowed`, `invalid`, `throttled` or `too_large`.
    pub outcome: String,
    pub status_code: u16,
    pub event_id: Option<String>,
    /// Why it was refused, when the outcome does not say it all (a signature
    /// that does not match, a stale timestamp, a missing header).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A delivery queued by a trigger call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuedDelivery {
    pub id: String,
    pub webhook_id: String,
}

/// The event a trigger call started (response mode `outputs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriggerOutputs {
    pub event: TriggeredEvent,
    pub deliveries: Vec<QueuedDelivery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriggeredEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_is_read_in_any_case_and_written_in_capitals() {
        let method: TriggerMethod = serde_json::from_str(r#""get""#).unwrap();
        assert_eq!(method, TriggerMethod::Get);
        assert_eq!(serde_json::to_string(&method).unwrap(), r#""GET""#);
        let wrong = serde_json::from_str::<TriggerMethod>(r#""PUT""#).unwrap_err();
        assert!(wrong.to_string().contains("must be GET or POST"));
        let response: TriggerResponse = serde_json::from_str(r#""status""#).unwrap();
        assert_eq!(response.as_str(), "status");
    }
}
