//! What `POST /api/events` reads: one event or a batch, checked whole
//! before anything is stored (every problem named by its field).

use api::{EventBatchIn, EventIn};
use serde_json::{Map, Value};

use crate::error::{AppError, FieldErrors, Result};
use crate::events::{is_event_type, is_operator_event};
use crate::http::json::from_value;
use crate::http::rules::{OPERATOR_MODULE_TAKEN, printable_problem};
use crate::store::NewEvent;

/// The longest idempotency or ordering key, in characters.
const MAX_KEY_CHARS: usize = 200;

/// Events in one batch at most.
pub const MAX_BATCH: usize = 1000;

/// The body of `POST /api/events`: one event or a batch.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
pub(super) enum Publish {
    One(EventIn),
    Batch(EventBatchIn),
}

impl Publish {
    /// Told apart by `events` before reading, so that errors name the right fields.
    pub(super) fn read(body: Map<String, Value>) -> Result<Self> {
        if body.contains_key("events") {
            Ok(Self::Batch(from_value(body)?))
        } else {
            Ok(Self::One(from_value(body)?))
        }
    }

    /// The events to store, or a 422 naming every bad field (`type`, or
    /// `events[2].type` in a batch).
    pub(super) fn into_events(self) -> Result<Vec<NewEvent>> {
        let (batch, events) = match self {
            Self::One(event) => (false, vec![event]),
            Self::Batch(batch) => (true, batch.events),
        };
        if batch && !(1..=MAX_BATCH).contains(&events.len()) {
            return Err(AppError::field(
                "events",
                format!("must hold 1 to {MAX_BATCH} events"),
            ));
        }
        let mut errors = FieldErrors::new();
        let field = |index: usize, name: &str| {
            if batch {
                format!("events[{index}].{name}")
            } else {
                name.to_string()
            }
        };
        for (index, event) in events.iter().enumerate() {
            if !is_event_type(&event.event_type) {
                errors.insert(
                    field(index, "type"),
                    "must be module.action: lowercase letters, digits, _ and -".into(),
                );
            } else if is_operator_event(&event.event_type) {
                errors.insert(field(index, "type"), OPERATOR_MODULE_TAKEN.into());
            }
            if let Some(problem) = event
                .ordering_key
                .as_ref()
                .and_then(|key| printable_problem(key, MAX_KEY_CHARS))
            {
                errors.insert(field(index, "ordering_key"), problem);
            }
            let Some(key) = &event.idempotency_key else {
                continue;
            };
            if let Some(problem) = printable_problem(key, MAX_KEY_CHARS) {
                errors.insert(field(index, "idempotency_key"), problem);
            } else if events[..index]
                .iter()
                .any(|earlier| earlier.idempotency_key.as_ref() == Some(key))
            {
                errors.insert(
                    field(index, "idempotency_key"),
                    "is given twice in this batch".into(),
                );
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(events
            .into_iter()
            .map(|event| NewEvent {
                event_type: event.event_type,
                data: event.data,
                change: None,
                idempotency_key: event.idempotency_key,
                ordering_key: event.ordering_key,
                about_webhook: None,
            })
            .collect())
    }
}
