//! Events: their types (`module.action`), the patterns webhooks subscribe
//! with, and the payload a webhook receives.

use serde_json::{Map, Value, json};

/// The largest request body hookhub reads (10 MiB), and so the largest
/// event: what the workers' memory bound must leave room for.
pub const MAX_EVENT_BYTES: usize = 10 * 1024 * 1024;

/// The module of hookhub's own events (`hookhub.delivery_failed`, ...):
/// nobody else publishes in it.
pub const OPERATOR_MODULE: &str = "hookhub";

/// Whether `event_type` is in hookhub's own module.
pub fn is_operator_event(event_type: &str) -> bool {
    event_type
        .split_once('.')
        .is_some_and(|(module, _)| module == OPERATOR_MODULE)
}

/// One part of an event type: lowercase letters, digits, `_` and `-`.
pub fn is_name_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 64
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `module.action`, `module.*` or `*`.
pub fn is_event_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.split_once('.') {
        Some((module, action)) => is_name_part(module) && (action == "*" || is_name_part(action)),
        None => false,
    }
}

/// A concrete event type that can be published: `module.action`, no wildcards.
pub fn is_event_type(event_type: &str) -> bool {
    event_type
        .split_once('.')
        .is_some_and(|(module, action)| is_name_part(module) && is_name_part(action))
}

/// Whether a webhook subscribed with `pattern` receives `event_type`. `*`
/// takes every event but hookhub's own, which are asked for by name
/// (`hookhub.*`): a webhook for an application's events is not sent
/// reports about other webhooks.
pub fn matches(pattern: &str, event_type: &str) -> bool {
    if pattern == "*" {
        return !is_operator_event(event_type);
    }
    match pattern.strip_suffix(".*") {
        Some(module) => event_type
            .split_once('.')
            .is_some_and(|(event_module, _)| event_module == module),
        None => pattern == event_type,
    }
}

/// Whether any of a webhook's patterns takes `event_type`.
pub fn subscribed(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|pattern| matches(pattern, event_type))
}

/// An accepted event, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    pub data: Value,
    /// Updates only: the fields that changed and their old values.
    pub change: Option<(Vec<String>, Map<String, Value>)>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// The JSON body a webhook receives: the envelope, or the data alone
/// nested at the webhook's data location.
pub fn payload(event: &Event, data_location: Option<&str>) -> Value {
    if let Some(location) = data_location {
        return nest(location, event.data.clone());
    }
    let mut envelope = json!({
        "type": event.event_type,
        "timestamp": crate::time::rfc3339(event.created_at),
        "data": event.data,
    });
    if let Some((changed_fields, previous)) = &event.change {
        envelope["changed_fields"] = json!(changed_fields);
        envelope["previous"] = Value::Object(previous.clone());
    }
    envelope
}

/// An event's envelope as `payload` makes it without a data location, read
/// field by field without a copy of its data: what payload filters match.
pub struct Envelope<'a> {
    event_type: Value,
    timestamp: Value,
    data: &'a Value,
    changed_fields: Option<Value>,
    previous: Option<Value>,
}

impl<'a> Envelope<'a> {
    pub fn new(
        event_type: &str,
        created_at: i64,
        data: &'a Value,
        change: Option<&(Vec<String>, Map<String, Value>)>,
    ) -> Self {
        Self {
            event_type: Value::from(event_type),
            timestamp: Value::from(crate::time::rfc3339(created_at)),
            data,
            changed_fields: change.map(|(fields, _)| json!(fields)),
            previous: change.map(|(_, previous)| Value::Object(previous.clone())),
        }
    }
}

impl crate::filter::Fields for Envelope<'_> {
    fn field(&self, name: &str) -> Option<&Value> {
        match name {
            "type" => Some(&self.event_type),
            "timestamp" => Some(&self.timestamp),
            "data" => Some(self.data),
            "changed_fields" => self.changed_fields.as_ref(),
            "previous" => self.previous.as_ref(),
            _ => None,
        }
    }
}

/// `nest("root/result", data)` is `{"root": {"result": data}}`.
pub fn nest(location: &str, data: Value) -> Value {
    location
        .rsplit('/')
        .fold(data, |inner, key| json!({ key: inner }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `ticket.update` of `obj_1`, for tests here and of the layers above.
    pub(crate) fn event(change: Option<(Vec<String>, Map<String, Value>)>) -> Event {
        Event {
            id: "evt_1".into(),
            event_type: "ticket.update".into(),
            data: json!({"id": "obj_1", "state": "closed"}),
            change,
            created_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn the_envelope_carries_type_timestamp_data_and_the_change() {
        let mut previous = Map::new();
        previous.insert("state".into(), json!("open"));
        let body = payload(&event(Some((vec!["state".into()], previous))), None);
        assert_eq!(
            body,
            json!({
                "type": "ticket.update",
                "timestamp": "2023-11-14T22:13:20.000Z",
                "data": {"id": "obj_1", "state": "closed"},
                "changed_fields": ["state"],
                "previous": {"state": "open"}
            })
        );
    }

    #[test]
    fn filters_see_the_envelope_a_webhook_receives() {
        use crate::filter::Fields;
        let mut previous = Map::new();
        previous.insert("state".into(), json!("open"));
        for change in [None, Some((vec!["state".to_string()], previous))] {
            let event = event(change);
            let body = payload(&event, None);
            let envelope = Envelope::new(
                &event.event_type,
                event.created_at,
                &event.data,
                event.change.as_ref(),
            );
            for name in [
                "type",
                "timestamp",
                "data",
                "changed_fields",
                "previous",
                "other",
            ] {
                assert_eq!(envelope.field(name), body.field(name), "{name}");
            }
        }
    }

    #[test]
    fn a_data_location_nests_the_data_alone() {
        assert_eq!(
            payload(&event(None), Some("root/result")),
            json!({"root": {"result": {"id": "obj_1", "state": "closed"}}})
        );
        assert_eq!(nest("data", json!(1)), json!({"data": 1}));
    }

    #[test]
    fn patterns_match_exactly_by_module_or_everything() {
        assert!(matches("*", "ticket.create"));
        assert!(matches("ticket.*", "ticket.delete"));
        assert!(matches("ticket.create", "ticket.create"));
        assert!(!matches("ticket.create", "ticket.update"));
        assert!(!matches("ticket.*", "tickets.create"));
        assert!(!matches("tick.*", "ticket.create"));
        assert!(subscribed(
            &["a.b".into(), "ticket.*".into()],
            "ticket.update"
        ));
        assert!(!subscribed(&[], "ticket.update"));
    }

    #[test]
    fn published_types_have_no_wildcards() {
        assert!(is_event_type("weather.report"));
        assert!(!is_event_type("weather.*"));
        assert!(!is_event_type("*"));
        assert!(!is_event_type("weather"));
    }

    #[test]
    fn patterns_name_a_module_and_an_action_or_a_wildcard() {
        for good in [
            "*",
            "ticket.*",
            "ticket.create",
            "unit_2.update",
            "weather.report",
            "a-b.c_d",
        ] {
            assert!(is_event_pattern(good), "{good}");
        }
        for bad in [
            "",
            "ticket",
            "Ticket.create",
            "ticket.",
            ".create",
            "*.create",
            "a.b.c",
            "ticket.cre ate",
            "ticket.**",
        ] {
            assert!(!is_event_pattern(bad), "{bad}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// A valid name part.
        fn part() -> impl Strategy<Value = String> {
            "[a-z0-9_-]{1,12}"
        }

        proptest! {
            #[test]
            fn a_type_is_matched_by_everything_its_module_and_itself_only(
                module in part(), action in part(), other in part(),
            ) {
                let event_type = format!("{module}.{action}");
                prop_assert!(is_event_type(&event_type));
                prop_assert!(is_event_pattern(&event_type));
                prop_assert_eq!(matches("*", &event_type), module != OPERATOR_MODULE);
                let whole_module = format!("{module}.*");
                prop_assert!(matches(&whole_module, &event_type));
                prop_assert!(matches(&event_type, &event_type));
                let other_module = format!("{other}.*");
                let other_action = format!("{module}.{other}");
                prop_assert_eq!(matches(&other_module, &event_type), other == module);
                prop_assert_eq!(matches(&other_action, &event_type), other == action);
                prop_assert!(!is_event_type(&whole_module));
            }

            #[test]
            fn a_webhook_is_subscribed_when_one_of_its_patterns_matches(
                patterns in proptest::collection::vec(
                    prop_oneof![
                        Just("*".to_string()),
                        part().prop_map(|m| format!("{m}.*")),
                        (part(), part()).prop_map(|(m, a)| format!("{m}.{a}")),
                    ],
                    0..5,
                ),
                module in part(),
                action in part(),
            ) {
                let event_type = format!("{module}.{action}");
                let expected = patterns.iter().any(|p| {
                    (p == "*" && module != OPERATOR_MODULE)
                        || *p == event_type
                        || *p == format!("{module}.*")
                });
                prop_assert_eq!(subscribed(&patterns, &event_type), expected);
            }

            #[test]
            fn a_data_location_puts_the_data_at_its_path_and_nothing_else(
                keys in proptest::collection::vec("[^/]{1,8}", 1..6),
                n in any::<i64>(),
            ) {
                let data = json!({"n": n});
                let nested = nest(&keys.join("/"), data.clone());
                let mut at = &nested;
                for key in &keys {
                    let object = at.as_object().expect("an object at every level");
                    prop_assert_eq!(object.len(), 1);
                    at = &object[key];
                }
                prop_assert_eq!(at, &data);
            }
        }
    }

    #[test]
    fn only_the_hookhub_module_holds_operator_events_which_star_leaves_out() {
        assert!(!matches("*", "hookhub.delivery_failed"));
        assert!(matches("hookhub.*", "hookhub.delivery_failed"));
        assert!(matches(
            "hookhub.webhook_disabled",
            "hookhub.webhook_disabled"
        ));
        assert!(is_operator_event("hookhub.delivery_failed"));
        assert!(!is_operator_event("hookhubs.x"));
        assert!(!is_operator_event("order.create"));
    }
}
