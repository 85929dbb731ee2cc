//! `POST /api/events`: a host application publishes its own changes.

use api::{Data, EventAccepted, EventBatchIn, EventIn};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{Json, from_value};
use super::{Admin, AppState};
use crate::error::{AppError, FieldErrors, Result};
use crate::events::{is_event_type, is_operator_event};
use crate::http::rules::{OPERATOR_MODULE_TAKEN, printable_problem};
use crate::store::NewEvent;

/// The body of `POST /api/events`: one event or a batch.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
enum Publish {
    One(EventIn),
    Batch(EventBatchIn),
}

/// The answer of `POST /api/events`: like the body, one or a batch.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum Accepted {
    One(Data<EventAccepted>),
    Batch(Data<Vec<EventAccepted>>),
}

/// The longest idempotency key, in characters.
const MAX_KEY_CHARS: usize = 200;

/// Events in one batch at most.
pub const MAX_BATCH: usize = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(publish))
}

/// One event (`{"type", "data"}`) or a batch (`{"events": [...]}`), accepted
/// durably, all or none: 202 with each event's id and how many deliveries it queued.
#[utoipa::path(post, operation_id = "publish_events", path = "/events", tag = "events", request_body = Publish, responses((status = 202, description = "Accepted durably: each event's id and how many deliveries it queued (in a batch, a repeated idempotency key's entry is the first event's, `duplicate: true`)", body = Accepted), (status = 200, description = "One event whose idempotency key was accepted in the last 7 days: the first event's entry, `duplicate: true`; nothing queued", body = Accepted)))]
async fn publish(
    State(state): State<AppState>,
    Admin(_): Admin,
    Json(body): Json<Map<String, Value>>,
) -> Result<Response> {
    // Told apart by `events` before reading, so that errors name the right fields.
    let publish = if body.contains_key("events") {
        Publish::Batch(from_value(body)?)
    } else {
        Publish::One(from_value(body)?)
    };
    let (batch, events) = match publish {
        Publish::One(event) => (false, vec![event]),
        Publish::Batch(batch) => (true, batch.events),
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
    let events: Vec<NewEvent> = events
        .into_iter()
        .map(|event| NewEvent {
            event_type: event.event_type,
            data: event.data,
            change: None,
            idempotency_key: event.idempotency_key,
            about_webhook: None,
        })
        .collect();
    // The store hands the deliveries straight to the workers.
    let mut accepted: Vec<EventAccepted> = state
        .store
        .publish(events)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    // A single event already accepted is answered 200: nothing new was queued.
    let (status, answer) = if batch {
        (
            StatusCode::ACCEPTED,
            Accepted::Batch(Data { data: accepted }),
        )
    } else {
        let data = accepted.remove(0);
        let status = if data.duplicate {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        (status, Accepted::One(Data { data }))
    };
    Ok((status, Json(answer)).into_response())
}
