//! The request preview: what a sample event would look like on the wire, built
//! by the same `request::build` the workers use.

use serde_json::{Map, json};

use super::request::{self, Credentials, Target};
use crate::events::{Event, OPERATOR_MODULE, is_operator_event};
use crate::model::AttemptRequest;
use crate::store::{StoredAuth, WebhookSettings};

/// The request a sample event would produce with `settings`, signed with
/// `signing_keys`, credentials and header values masked (so they need not be
/// opened).
pub fn request(
    settings: &WebhookSettings,
    signing_keys: Vec<Vec<u8>>,
    now_ms: i64,
) -> AttemptRequest {
    let credentials = match &settings.auth {
        StoredAuth::None => Credentials::None,
        StoredAuth::Basic { username, .. } => Credentials::Basic {
            username: username.clone(),
            password: String::new(),
        },
        StoredAuth::Bearer { .. } => Credentials::Bearer {
            token: String::new(),
        },
    };
    let target = Target {
        url: settings.url.clone(),
        method: settings.method,
        credentials,
        headers: settings
            .headers
            .keys()
            .map(|name| (name.clone(), String::new()))
            .collect(),
        data_location: settings.data_location.clone(),
        signing_keys,
    };
    let event = sample_event(&settings.events, now_ms);
    let outbound = request::build(&target, "dlv_preview", &event, now_ms / 1000);
    AttemptRequest {
        method: outbound.method.as_str().to_string(),
        url: outbound.url.clone(),
        headers: outbound.masked_headers(),
        body: String::from_utf8_lossy(&outbound.body).into_owned(),
    }
}

/// A sample event the webhook would receive: its first subscribed type, made
/// concrete (`ticket.*` becomes `ticket.update`, `*` becomes `object.update`),
/// an application's rather than hookhub's own when it takes both.
pub fn sample_event(patterns: &[String], now_ms: i64) -> Event {
    let first = patterns
        .iter()
        .find(|pattern| !is_operator_event(pattern))
        .or(patterns.first());
    let event_type = match first.map(String::as_str) {
        None | Some("*") => "object.update".to_string(),
        Some(pattern) => match pattern.strip_suffix(".*") {
            Some(OPERATOR_MODULE) => format!("{OPERATOR_MODULE}.delivery_failed"),
            Some(module) => format!("{module}.update"),
            None => pattern.to_string(),
        },
    };
    if is_operator_event(&event_type) {
        return Event {
            id: "evt_preview".into(),
            data: operator_sample(&event_type),
            change: None,
            event_type,
            created_at: now_ms,
        };
    }
    let updated = event_type.ends_with(".update");
    let mut previous = Map::new();
    previous.insert("status".into(), json!("open"));
    Event {
        id: "evt_preview".into(),
        data: json!({"id": "obj_0193f2a4c7d87e4f9b1c2d3e4f5a6b7c", "name": "Example", "status": "closed"}),
        change: updated.then(|| (vec!["status".to_string()], previous)),
        event_type,
        created_at: now_ms,
    }
}

/// What one of hookhub's own events carries, made up.
fn operator_sample(event_type: &str) -> serde_json::Value {
    let webhook_id = "wh_0193f2a4c7d87e4f9b1c2d3e4f5a6b7c";
    match event_type.split_once('.').map_or("", |(_, action)| action) {
        "webhook_disabled" => json!({
            "webhook_id": webhook_id, "name": "Orders", "url": "https://example.com/hooks",
            "reason": "the receiver answered 410 Gone", "last_error": "HTTP 410",
            "disabled_at": "2026-01-01T00:00:00.000Z",
        }),
        "webhook_recovered" => json!({"webhook_id": webhook_id, "name": "Orders", "released": 42}),
        _ => json!({
            "delivery_id": "dlv_0193f2a4c7d87e4f9b1c2d3e4f5a6b7d", "webhook_id": webhook_id,
            "event_id": "evt_0193f2a4c7d87e4f9b1c2d3e4f5a6b7e", "event_type": "ticket.update",
            "attempts": 8, "last_status_code": 500, "last_error": "HTTP 500",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_takes_the_first_subscribed_type() {
        assert_eq!(
            sample_event(&["ticket.create".into()], 0).event_type,
            "ticket.create"
        );
        assert_eq!(
            sample_event(&["ticket.*".into()], 0).event_type,
            "ticket.update"
        );
        assert_eq!(sample_event(&["*".into()], 0).event_type, "object.update");
        assert_eq!(sample_event(&[], 0).event_type, "object.update");
        assert!(sample_event(&[], 0).change.is_some());
        assert!(sample_event(&["weather.report".into()], 0).change.is_none());
    }

    #[test]
    fn an_application_type_comes_before_hookhubs_own_which_get_their_own_data() {
        let both = ["hookhub.delivery_failed".into(), "ticket.create".into()];
        assert_eq!(sample_event(&both, 0).event_type, "ticket.create");
        let own = sample_event(&["hookhub.*".into()], 0);
        assert_eq!(own.event_type, "hookhub.delivery_failed");
        assert_eq!(own.data["last_error"], "HTTP 500");
        let disabled = sample_event(&["hookhub.webhook_disabled".into()], 0);
        assert!(disabled.data["reason"].is_string());
    }
}
