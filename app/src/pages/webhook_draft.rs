//! What the webhook form holds, as plain data: made from a stored webhook
//! (or empty for a new one) and turned into the API's input. Kept apart from
//! the view so that both directions are unit-tested.

use std::collections::{BTreeMap, BTreeSet};

use api::{Auth, AuthIn, AuthType, DeliveryMethod, OBJECT_ACTIONS, WebhookIn, WebhookOut};

use crate::components::KeyValueRow;

/// The grid's columns: the object store's actions and "any action"
/// (`module.*`); other event patterns go in a free-text field.
pub const GRID_ACTIONS: [&str; 4] = [OBJECT_ACTIONS[0], OBJECT_ACTIONS[1], OBJECT_ACTIONS[2], "*"];

/// hookhub's own events, which a webhook asks for by name (`*` leaves them
/// out), with what each tells in words.
pub const OPERATOR_EVENTS: [(&str, &str); 3] = [
    ("hookhub.delivery_failed", "A delivery failed for good"),
    ("hookhub.webhook_disabled", "A webhook was switched off"),
    ("hookhub.webhook_recovered", "A webhook recovered"),
];

/// The module of hookhub's own events: not one of the grid's rows.
pub const OPERATOR_MODULE: &str = "hookhub";

/// Whether a pattern is picked with a checkbox: a grid cell
/// (`ticket.create`, `ticket.*`) or one of hookhub's own events.
fn is_checkbox_event(event: &str) -> bool {
    OPERATOR_EVENTS.iter().any(|(name, _)| *name == event)
        || event.split_once('.').is_some_and(|(module, action)| {
            module != OPERATOR_MODULE && GRID_ACTIONS.contains(&action)
        })
}

/// Whether `module` may head an event type: lowercase letters, digits, `_`
/// and `-`, at most 64 (the server's rule for event types).
pub fn is_module_name(module: &str) -> bool {
    !module.is_empty()
        && module.len() <= 64
        && module
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// An event type or a pattern as webhooks subscribe with: `ticket.update`,
/// `ticket.*`, `*` (the API's rule, so that a half-typed one is never sent).
pub fn is_event_pattern(text: &str) -> bool {
    match text.split_once('.') {
        None => text == "*",
        Some((module, action)) => {
            is_module_name(module) && (action == "*" || is_module_name(action))
        }
    }
}

/// The label a person sees for a field the API names (`data_location` is
/// "Data location").
pub fn field_label(field: &str) -> &str {
    match field.split(['.', '[']).next().unwrap_or(field) {
        "name" => "Name",
        "url" => "URL",
        "events" => "Events",
        "method" => "Method",
        "active" => "Active",
        "auth" => "Authentication",
        "data_location" => "Data location",
        "headers" => "Extra headers",
        "filter" => "Filter",
        "rate_limit" => "Rate limit",
        "retry_schedule" => "Retry schedule",
        other => other,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDraft {
    pub name: String,
    pub url: String,
    pub method: DeliveryMethod,
    pub active: bool,
    /// Whether the stored webhook is on; `None` for a new one. The switch is
    /// sent only when it changes: an edit must not turn hookhub's switch-off
    /// (probed, deliveries paused) into an administrator's.
    pub stored_active: Option<bool>,
    /// Patterns picked with checkboxes: in the grid (`ticket.create`,
    /// `ticket.*`) and hookhub's own events (`hookhub.delivery_failed`).
    pub grid_events: BTreeSet<String>,
    /// Other patterns, comma-separated as typed.
    pub other_events: String,
    pub auth_type: AuthType,
    pub username: String,
    /// Left empty, the stored password or token is kept.
    pub password: String,
    pub token: String,
    /// Whether the webhook has a stored password or token.
    pub secret_set: bool,
    pub data_location: String,
    /// Extra headers: a stored one's value is never shown, so its input
    /// starts empty and, left empty, keeps the stored value.
    pub headers: Vec<KeyValueRow>,
    /// The payload filter as JSON text; empty for none.
    pub filter: String,
    /// Deliveries a second at most, as typed; empty for no limit.
    pub rate_limit: String,
    /// Waits before each retry, comma-separated as typed; empty for the server's.
    pub retry_schedule: String,
}

impl Default for WebhookDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: String::new(),
            method: DeliveryMethod::default(),
            active: true,
            stored_active: None,
            grid_events: BTreeSet::new(),
            other_events: String::new(),
            auth_type: AuthType::None,
            username: String::new(),
            password: String::new(),
            token: String::new(),
            secret_set: false,
            data_location: String::new(),
            headers: Vec::new(),
            filter: String::new(),
            rate_limit: String::new(),
            retry_schedule: String::new(),
        }
    }
}

impl From<&WebhookOut> for WebhookDraft {
    fn from(webhook: &WebhookOut) -> Self {
        let in_grid = |event: &&String| is_checkbox_event(event);
        let (username, secret_set) = match &webhook.auth {
            Auth::Basic {
                username,
                password_set,
            } => (username.clone(), *password_set),
            Auth::Bearer { token_set } => (String::new(), *token_set),
            Auth::None => (String::new(), false),
        };
        Self {
            name: webhook.name.clone(),
            url: webhook.url.clone(),
            method: webhook.method,
            active: webhook.active,
            stored_active: Some(webhook.active),
            grid_events: webhook.events.iter().filter(in_grid).cloned().collect(),
            other_events: webhook
                .events
                .iter()
                .filter(|e| !in_grid(e))
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            auth_type: webhook.auth.kind(),
            username,
            password: String::new(),
            token: String::new(),
            secret_set,
            data_location: webhook.data_location.clone().unwrap_or_default(),
            headers: KeyValueRow::rows(
                webhook
                    .headers
                    .keys()
                    .map(|name| (name.clone(), String::new())),
                true,
            ),
            filter: webhook
                .filter
                .as_ref()
                .and_then(|filter| serde_json::to_string_pretty(filter).ok())
                .unwrap_or_default(),
            rate_limit: webhook
                .rate_limit
                .map(|limit| limit.to_string())
                .unwrap_or_default(),
            retry_schedule: webhook
                .retry_schedule
                .as_ref()
                .map(|steps| steps.join(", "))
                .unwrap_or_default(),
        }
    }
}

impl WebhookDraft {
    /// The modules the grid shows: those of the picked patterns, or `fallback`.
    pub fn grid_modules(&self, fallback: &str) -> Vec<String> {
        let modules: BTreeSet<String> = self
            .grid_events
            .iter()
            .filter_map(|e| e.split_once('.').map(|(module, _)| module.to_string()))
            .filter(|module| module != OPERATOR_MODULE)
            .collect();
        if modules.is_empty() {
            vec![fallback.to_string()]
        } else {
            modules.into_iter().collect()
        }
    }

    /// Every writable field, as `POST` and `PATCH` take them: empty
    /// credentials and untouched stored headers keep what is stored.
    pub fn to_input(&self) -> WebhookIn {
        let given = |text: &str| Some(text.to_string()).filter(|v| !v.is_empty());
        let mut events: Vec<String> = self.grid_events.iter().cloned().collect();
        events.extend(
            self.other_events
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(String::from),
        );
        let auth = match self.auth_type {
            AuthType::Basic => AuthIn::Basic {
                username: self.username.clone(),
                password: given(&self.password),
            },
            AuthType::Bearer => AuthIn::Bearer {
                token: given(&self.token),
            },
            AuthType::None => AuthIn::None,
        };
        let headers: BTreeMap<String, Option<String>> = self
            .headers
            .iter()
            .filter(|row| !row.name.trim().is_empty())
            .map(|row| {
                let keep = row.stored && row.value.is_empty();
                (
                    row.name.trim().to_string(),
                    (!keep).then(|| row.value.clone()),
                )
            })
            .collect();
        WebhookIn {
            name: Some(self.name.clone()),
            url: Some(self.url.clone()),
            events: Some(events),
            active: (self.stored_active != Some(self.active)).then_some(self.active),
            method: Some(self.method),
            auth: Some(auth),
            data_location: Some(given(&self.data_location)),
            headers: Some(headers),
            // Text that is not JSON (yet) leaves the stored filter as it is;
            // `filter_problem` says why, and Save refuses it.
            filter: filter_value(&self.filter).ok(),
            // Likewise: a number the server then checks, or nothing.
            rate_limit: rate_limit_value(&self.rate_limit).ok(),
            retry_schedule: Some(retry_steps(&self.retry_schedule)),
        }
    }
}

// What the form's free-text fields mean, as they are typed.

/// The retry schedule's steps as typed (the server checks them); `None`
/// when empty: the server's schedule.
pub fn retry_steps(text: &str) -> Option<Vec<String>> {
    let steps: Vec<String> = text
        .split([',', ' '])
        .map(str::trim)
        .filter(|step| !step.is_empty())
        .map(str::to_string)
        .collect();
    (!steps.is_empty()).then_some(steps)
}

/// How long a delivery is retried in all with the typed schedule, in
/// words ("1 h 1 min 10 s"), if every step reads.
pub fn retry_span(text: &str) -> Option<String> {
    let mut seconds = 0u64;
    for step in retry_steps(text)? {
        let (number, unit) = step.split_at(step.len().checked_sub(1)?);
        let number: u64 = number.parse().ok()?;
        seconds += number
            * match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => return None,
            };
    }
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let parts: Vec<String> = [(h, "h"), (m, "min"), (s, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    Some(parts.join(" "))
}

/// The rate limit as the API takes it: `None` (no limit) when empty, or
/// why the text is not a whole number.
pub fn rate_limit_value(text: &str) -> Result<Option<u32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| "must be a whole number of deliveries a second, 1 to 10,000".into())
}

/// The filter as the API takes it: `None` (no filter) when the text is
/// empty, or why the text is not a JSON object.
pub fn filter_value(text: &str) -> Result<Option<serde_json::Value>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) if value.is_object() => Ok(Some(value)),
        Ok(_) => Err("must be a JSON object, like {\"data.priority\": \"P1\"}".into()),
        Err(error) => Err(format!("is not JSON yet: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use api::{Author, Permissions, WebhookHealth};

    use super::*;

    fn stored() -> WebhookOut {
        WebhookOut {
            id: "wh_1".into(),
            content_type: "webhook".into(),
            name: "Orders".into(),
            url: "https://example.com/in".into(),
            events: vec![
                "ticket.create".into(),
                "ticket.*".into(),
                "weather.report".into(),
            ],
            active: false,
            method: DeliveryMethod::Put,
            auth: Auth::Basic {
                username: "hook".into(),
                password_set: true,
            },
            data_location: Some("root/result".into()),
            headers: BTreeMap::from([("X-Team".into(), "***".into())]),
            filter: None,
            rate_limit: None,
            retry_schedule: None,
            author: Author {
                id: "usr_1".into(),
                name: "admin".into(),
            },
            permissions: Permissions {
                edit: true,
                delete: true,
            },
            created_at: String::new(),
            updated_at: String::new(),
            health: WebhookHealth::default(),
        }
    }

    #[test]
    fn a_stored_webhook_saved_untouched_keeps_its_secrets_and_headers() {
        let draft = WebhookDraft::from(&stored());
        assert_eq!(draft.other_events, "weather.report");
        assert_eq!(draft.grid_modules("object"), vec!["ticket".to_string()]);
        let input = draft.to_input();
        assert_eq!(
            input.events,
            Some(vec![
                "ticket.*".into(),
                "ticket.create".into(),
                "weather.report".into()
            ])
        );
        // Off as it was: the switch is left out, so that a webhook hookhub
        // switched off stays hookhub's (probed, its deliveries paused).
        assert_eq!(input.active, None);
        let switched_on = WebhookDraft {
            active: true,
            ..draft.clone()
        };
        assert_eq!(switched_on.to_input().active, Some(true));
        assert_eq!(input.method, Some(DeliveryMethod::Put));
        // No password: the stored one stays; no header value: likewise.
        assert_eq!(
            input.auth,
            Some(AuthIn::Basic {
                username: "hook".into(),
                password: None
            })
        );
        assert_eq!(
            input.headers,
            Some(BTreeMap::from([("X-Team".to_string(), None)]))
        );
        assert_eq!(input.data_location, Some(Some("root/result".into())));
    }

    #[test]
    fn typed_values_replace_stored_ones_and_empty_rows_are_dropped() {
        let mut draft = WebhookDraft::from(&stored());
        draft.password = "new-password".into();
        draft.headers[0].value = "billing".into();
        draft
            .headers
            .extend(KeyValueRow::rows([("  ".into(), "ignored".into())], false));
        draft.data_location.clear();
        let input = draft.to_input();
        assert_eq!(
            input.auth,
            Some(AuthIn::Basic {
                username: "hook".into(),
                password: Some("new-password".into())
            })
        );
        assert_eq!(
            input.headers,
            Some(BTreeMap::from([(
                "X-Team".to_string(),
                Some("billing".to_string())
            )]))
        );
        assert_eq!(input.data_location, Some(None));
    }

    #[test]
    fn modules_follow_the_event_type_rule_and_fields_read_as_their_labels() {
        assert!(is_module_name("ticket"));
        assert!(is_module_name("work_order-2"));
        assert!(!is_module_name("bad module!"));
        assert!(!is_module_name("Ticket"));
        assert!(!is_module_name(""));
        assert_eq!(field_label("data_location"), "Data location");
        assert_eq!(field_label("auth.password"), "Authentication");
        assert_eq!(field_label("url"), "URL");
    }

    #[test]
    fn a_filter_is_edited_as_json_text_and_only_a_json_object_is_sent() {
        let mut webhook = stored();
        webhook.filter = Some(serde_json::json!({"data.priority": "P1"}));
        let mut draft = WebhookDraft::from(&webhook);
        assert!(
            draft.filter.contains("\"data.priority\": \"P1\""),
            "{}",
            draft.filter
        );
        assert_eq!(draft.to_input().filter, Some(webhook.filter.clone()));
        draft.filter = "{\"data.priority\": ".into();
        assert!(
            filter_value(&draft.filter)
                .unwrap_err()
                .starts_with("is not JSON yet")
        );
        assert_eq!(
            draft.to_input().filter,
            None,
            "half typed: the stored one stays"
        );
        draft.filter = "[1]".into();
        assert!(
            filter_value(&draft.filter)
                .unwrap_err()
                .contains("JSON object")
        );
        draft.filter = "  ".into();
        assert_eq!(draft.to_input().filter, Some(None), "emptied: cleared");
    }

    #[test]
    fn a_rate_limit_is_a_whole_number_or_nothing() {
        let mut webhook = stored();
        webhook.rate_limit = Some(5);
        let mut draft = WebhookDraft::from(&webhook);
        assert_eq!(draft.rate_limit, "5");
        assert_eq!(draft.to_input().rate_limit, Some(Some(5)));
        draft.rate_limit = "five".into();
        assert!(rate_limit_value(&draft.rate_limit).is_err());
        assert_eq!(draft.to_input().rate_limit, None, "the stored one stays");
        draft.rate_limit = String::new();
        assert_eq!(draft.to_input().rate_limit, Some(None), "emptied: no limit");
    }

    #[test]
    fn a_retry_schedule_is_typed_as_a_list_and_its_span_said() {
        let mut webhook = stored();
        webhook.retry_schedule = Some(vec!["10s".into(), "1m".into(), "1h".into()]);
        let mut draft = WebhookDraft::from(&webhook);
        assert_eq!(draft.retry_schedule, "10s, 1m, 1h");
        assert_eq!(
            retry_span(&draft.retry_schedule).as_deref(),
            Some("1 h 1 min 10 s")
        );
        assert_eq!(
            draft.to_input().retry_schedule,
            Some(webhook.retry_schedule.clone())
        );
        draft.retry_schedule = "5m 5m".into();
        assert_eq!(retry_span(&draft.retry_schedule).as_deref(), Some("10 min"));
        draft.retry_schedule = "5 minutes".into();
        assert_eq!(
            retry_span(&draft.retry_schedule),
            None,
            "the server says what is wrong"
        );
        draft.retry_schedule.clear();
        assert_eq!(
            draft.to_input().retry_schedule,
            Some(None),
            "the server's schedule"
        );
    }

    #[test]
    fn a_new_draft_is_active_without_auth() {
        let input = WebhookDraft::default().to_input();
        assert_eq!(input.active, Some(true));
        assert_eq!(input.auth, Some(AuthIn::None));
        assert_eq!(
            WebhookDraft::default().grid_modules("object"),
            vec!["object".to_string()]
        );
    }

    #[test]
    fn hookhubs_own_events_are_checkboxes_outside_the_grid() {
        let mut webhook = stored();
        webhook.events = vec![
            "ticket.create".into(),
            "hookhub.delivery_failed".into(),
            "hookhub.*".into(),
        ];
        let draft = WebhookDraft::from(&webhook);
        assert!(draft.grid_events.contains("hookhub.delivery_failed"));
        assert_eq!(draft.other_events, "hookhub.*", "typed patterns stay typed");
        assert_eq!(draft.grid_modules("object"), ["ticket"]);
        let saved = draft.to_input().events.unwrap();
        assert!(saved.contains(&"hookhub.delivery_failed".to_string()));
        assert!(saved.contains(&"hookhub.*".to_string()));
    }

    #[test]
    fn only_whole_event_types_and_patterns_are_applied() {
        for whole in ["ticket.update", "ticket.*", "*", "cmdb_ci.create"] {
            assert!(is_event_pattern(whole), "{whole}");
        }
        for half in [
            "ticket.",
            "ticket",
            "Ticket.update",
            ".update",
            "ticket.up date",
            "**",
        ] {
            assert!(!is_event_pattern(half), "{half}");
        }
    }
}
