//! Operator events: what hookhub publishes about itself (`hookhub.*`), in the
//! transaction that records what they tell, through the outbox like any
//! event. Each is about one webhook and never goes to it.

use serde_json::json;

use super::{AttemptKind, NewEvent, Next, Outcome};
use crate::events::{OPERATOR_MODULE, is_operator_event};
use crate::time::rfc3339;

/// A webhook hookhub has just switched off.
pub struct DisabledWebhook {
    pub id: String,
    pub name: String,
    pub url: String,
    pub reason: Option<String>,
    pub last_error: Option<String>,
    pub disabled_at: Option<i64>,
}

/// A delivery that has just failed for good.
pub struct FailedDelivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
}

/// The deliveries among `outcomes` whose failure is told: scheduled ones
/// that ran out of retries (a Test or a Redeliver is watched by whoever
/// clicked it). `delivery_failed` leaves out those carrying operator
/// events: two failing subscribers would tell each other about each other
/// forever.
pub fn failed_for_good<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Vec<&'a str> {
    outcomes
        .into_iter()
        .filter(|outcome| outcome.kind == AttemptKind::Scheduled && outcome.next == Next::Failed)
        .map(|outcome| outcome.attempt.delivery_id.as_str())
        .collect()
}

/// `hookhub.webhook_disabled`.
pub fn webhook_disabled(webhook: DisabledWebhook) -> NewEvent {
    let data = json!({
        "webhook_id": webhook.id,
        "name": webhook.name,
        "url": webhook.url,
        "reason": webhook.reason,
        "last_error": webhook.last_error,
        "disabled_at": webhook.disabled_at.map(rfc3339),
    });
    about(webhook.id, "webhook_disabled", data)
}

/// `hookhub.webhook_recovered`: the webhook is on again and `released`
/// paused deliveries go out. Told if hookhub had it `switched_off` or
/// something waited; not when an administrator switches on again a webhook
/// they had switched off, with nothing paused.
pub fn webhook_recovered(
    webhook_id: &str,
    name: &str,
    released: u64,
    switched_off: bool,
) -> Option<NewEvent> {
    if !switched_off && released == 0 {
        return None;
    }
    let data = json!({
        "webhook_id": webhook_id,
        "name": name,
        "released": released,
    });
    Some(about(webhook_id.to_string(), "webhook_recovered", data))
}

/// `hookhub.delivery_failed`.
pub fn delivery_failed(delivery: FailedDelivery) -> Option<NewEvent> {
    if is_operator_event(&delivery.event_type) {
        return None;
    }
    let data = json!({
        "delivery_id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
    });
    Some(about(delivery.webhook_id, "delivery_failed", data))
}

fn about(webhook_id: String, action: &str, data: serde_json::Value) -> NewEvent {
    NewEvent {
        event_type: format!("{OPERATOR_MODULE}.{action}"),
        data,
        change: None,
        idempotency_key: None,
        ordering_key: None,
        about_webhook: Some(webhook_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_delivery_of_an_operator_event_is_not_told() {
        let row = |event_type: &str| FailedDelivery {
            id: "dlv_1".into(),
            webhook_id: "wh_1".into(),
            event_id: "evt_1".into(),
            event_type: event_type.into(),
            attempts: 8,
            last_status_code: Some(500),
            last_error: Some("HTTP 500".into()),
        };
        assert!(delivery_failed(row("hookhub.webhook_disabled")).is_none());
        let told = delivery_failed(row("order.create")).unwrap();
        assert_eq!(told.event_type, "hookhub.delivery_failed");
        assert_eq!(told.about_webhook.as_deref(), Some("wh_1"));
        assert_eq!(told.data["attempts"], 8);
        assert_eq!(told.data["last_status_code"], 500);
    }
}
