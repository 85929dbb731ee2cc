//! Operator events: what hookhub publishes about itself (`hookhub.*`), in the
//! transaction that records what they tell, through the outbox like any
//! event. Each is about one webhook and never goes to it.

use serde_json::json;

use super::{NewEvent, Next, Outcome};
use crate::events::{OPERATOR_MODULE, is_operator_event};
use crate::time::rfc3339;

/// A webhook hookhub has just switched off, as its row reads.
#[derive(sqlx::FromRow)]
pub struct DisabledRow {
    pub id: String,
    name: String,
    url: String,
    disabled_reason: Option<String>,
    last_error: Option<String>,
    disabled_at: Option<i64>,
}

/// A delivery that has just failed for good, as its row reads.
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

/// The deliveries among `outcomes` whose failure is told: scheduled ones
/// that ran out of retries (a Test or a Redeliver is watched by whoever
/// clicked it). The backends leave out those carrying operator events
/// (`is_operator_event`): two failing subscribers would tell each other
/// about each other forever.
pub fn failed_for_good(outcomes: &[Outcome]) -> Vec<&str> {
    outcomes
        .iter()
        .filter(|outcome| outcome.announce_failure && outcome.next == Next::Failed)
        .map(|outcome| outcome.attempt.delivery_id.as_str())
        .collect()
}

/// `hookhub.webhook_disabled`.
pub fn webhook_disabled(row: DisabledRow) -> NewEvent {
    let data = json!({
        "webhook_id": row.id,
        "name": row.name,
        "url": row.url,
        "reason": row.disabled_reason,
        "last_error": row.last_error,
        "disabled_at": row.disabled_at.map(rfc3339),
    });
    about(row.id, "webhook_disabled", data)
}

/// `hookhub.delivery_failed`.
pub fn delivery_failed(row: FailedRow) -> Option<NewEvent> {
    if is_operator_event(&row.event_type) {
        return None;
    }
    let data = json!({
        "delivery_id": row.id,
        "webhook_id": row.webhook_id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "attempts": row.attempt_count,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
    });
    Some(about(row.webhook_id, "delivery_failed", data))
}

fn about(webhook_id: String, action: &str, data: serde_json::Value) -> NewEvent {
    NewEvent {
        event_type: format!("{OPERATOR_MODULE}.{action}"),
        data,
        change: None,
        idempotency_key: None,
        about_webhook: Some(webhook_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_delivery_of_an_operator_event_is_not_told() {
        let row = |event_type: &str| FailedRow {
            id: "dlv_1".into(),
            webhook_id: "wh_1".into(),
            event_id: "evt_1".into(),
            event_type: event_type.into(),
            attempt_count: 8,
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
