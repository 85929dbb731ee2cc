//! What hookhub sends: the body and the headers of one attempt. Pure, so that
//! the worker, Test and (later) the request preview build requests one way.

use std::collections::BTreeMap;

use crate::events::{Event, payload};
use crate::model::{DeliveryMethod, MASKED};
use base64::Engine;

use super::signing::signature_header;

pub const USER_AGENT: &str = concat!("hookhub/", env!("CARGO_PKG_VERSION"));

/// The headers hookhub sets itself, as they travel (lowercase): shown in logs as sent.
const OWN_HEADERS: [&str; 6] = [
    "content-type",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "webhook-event",
];

/// Target authentication with its secret opened.
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    None,
    Basic { username: String, password: String },
    Bearer { token: String },
}

/// Everything about a webhook that shapes its requests.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub method: DeliveryMethod,
    pub credentials: Credentials,
    pub headers: BTreeMap<String, String>,
    pub data_location: Option<String>,
    /// HMAC keys: the current secret's, then the previous one's during a rotation.
    pub signing_keys: Vec<Vec<u8>>,
}

/// One request, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub method: DeliveryMethod,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Outbound {
    /// The headers as logs show them: hookhub's own as sent, the credential
    /// of `authorization` and every extra header's value (which may well be
    /// a key) replaced by `***`.
    pub fn masked_headers(&self) -> BTreeMap<String, String> {
        self.headers
            .iter()
            .map(|(name, value)| {
                let shown = if name.eq_ignore_ascii_case("authorization") {
                    let scheme = value.split(' ').next().unwrap_or_default();
                    format!("{scheme} {}", MASKED)
                } else if OWN_HEADERS.contains(&name.as_str()) {
                    value.clone()
                } else {
                    MASKED.to_string()
                };
                (name.clone(), shown)
            })
            .collect()
    }
}

/// The request for one attempt of delivery `delivery_id`, signed at `timestamp` (Unix seconds).
pub fn build(target: &Target, delivery_id: &str, event: &Event, timestamp: i64) -> Outbound {
    let body = serde_json::to_vec(&payload(event, target.data_location.as_deref()))
        .expect("JSON values always serialise");
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), USER_AGENT.to_string()),
    ];
    // Lowercase, as they travel (HTTP header names are case-insensitive).
    headers.extend(
        target
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
    );
    match &target.credentials {
        Credentials::None => {}
        Credentials::Basic { username, password } => {
            let pair =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            headers.push(("authorization".into(), format!("Basic {pair}")));
        }
        Credentials::Bearer { token } => {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
    }
    headers.push(("webhook-id".into(), delivery_id.to_string()));
    headers.push(("webhook-timestamp".into(), timestamp.to_string()));
    headers.push((
        "webhook-signature".into(),
        signature_header(&target.signing_keys, delivery_id, timestamp, &body),
    ));
    headers.push(("webhook-event".into(), event.event_type.clone()));
    Outbound {
        method: target.method,
        url: target.url.clone(),
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::event;

    fn target(credentials: Credentials, data_location: Option<&str>) -> Target {
        Target {
            url: "https://example.com/in".into(),
            method: DeliveryMethod::Put,
            credentials,
            headers: BTreeMap::from([("X-Team".into(), "billing".into())]),
            data_location: data_location.map(String::from),
            signing_keys: vec![vec![7; 32]],
        }
    }

    fn header<'a>(outbound: &'a Outbound, name: &str) -> Option<&'a str> {
        outbound
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn requests_carry_method_auth_headers_and_signature() {
        let basic = Credentials::Basic {
            username: "u".into(),
            password: "p".into(),
        };
        let outbound = build(
            &target(basic, Some("root/result")),
            "dlv_1",
            &event(None),
            1_700_000_000,
        );
        assert_eq!(outbound.method, DeliveryMethod::Put);
        assert_eq!(header(&outbound, "content-type"), Some("application/json"));
        assert_eq!(header(&outbound, "user-agent"), Some(USER_AGENT));
        assert_eq!(header(&outbound, "x-team"), Some("billing"));
        assert_eq!(header(&outbound, "authorization"), Some("Basic dTpw"));
        assert_eq!(header(&outbound, "webhook-id"), Some("dlv_1"));
        assert_eq!(header(&outbound, "webhook-timestamp"), Some("1700000000"));
        assert_eq!(header(&outbound, "webhook-event"), Some("ticket.update"));
        let expected =
            super::super::signing::sign(&[7; 32], "dlv_1", 1_700_000_000, &outbound.body);
        assert_eq!(
            header(&outbound, "webhook-signature"),
            Some(expected.as_str())
        );
        assert_eq!(outbound.masked_headers()["authorization"], "Basic ***");
        assert_eq!(outbound.masked_headers()["x-team"], "***");
        assert_eq!(outbound.masked_headers()["webhook-id"], "dlv_1");
    }

    #[test]
    fn bearer_tokens_are_sent_and_masked() {
        let bearer = Credentials::Bearer {
            token: "t0k".into(),
        };
        let outbound = build(&target(bearer, None), "dlv_1", &event(None), 1);
        assert_eq!(header(&outbound, "authorization"), Some("Bearer t0k"));
        assert_eq!(outbound.masked_headers()["authorization"], "Bearer ***");
    }
}
