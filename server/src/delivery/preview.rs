//! The request preview: what a sample event would look like on the wire, built
//! by the same `request::build` the workers use.

use serde_json::{Map, json};

use crate::events::Event;

/// A sample event the webhook would receive: its first subscribed type, made
/// concrete (`ticket.*` becomes `ticket.update`, `*` becomes `object.update`).
pub fn sample_event(patterns: &[String], now_ms: i64) -> Event {
    let event_type = match patterns.first().map(String::as_str) {
        None | Some("*") => "object.update".to_string(),
        Some(pattern) => match pattern.strip_suffix(".*") {
            Some(module) => format!("{module}.update"),
            None => pattern.to_string(),
        },
    };
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
}
