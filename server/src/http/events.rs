//! `POST /api/events`: a host application publishes its own changes.

use api::{Data, EventAccepted, EventBatchIn, EventIn};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value};

use super::json::{Json, from_value};
use super::{Admin, AppState};
use crate::error::{AppError, FieldErrors, Result};
use crate::events::is_event_type;
use crate::store::NewEvent;

/// Events in one batch at most.
pub const MAX_BATCH: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new().route("/events", post(publish))
}

/// One event (`{"type", "data"}`) or a batch (`{"events": [...]}`), accepted
/// durably, all or none: 202 with each event's id and how many deliveries it queued.
async fn publish(
    State(state): State<AppState>,
    Admin(_): Admin,
    Json(body): Json<Map<String, Value>>,
) -> Result<Response> {
    let batch = body.contains_key("events");
    let events: Vec<EventIn> = if batch {
        from_value::<EventBatchIn>(body)?.events
    } else {
        vec![from_value::<EventIn>(body)?]
    };
    if batch && !(1..=MAX_BATCH).contains(&events.len()) {
        return Err(AppError::field(
            "events",
            format!("must hold 1 to {MAX_BATCH} events"),
        ));
    }
    let mut errors = FieldErrors::new();
    for (index, event) in events.iter().enumerate() {
        if !is_event_type(&event.event_type) {
            let field = if batch {
                format!("events[{index}].type")
            } else {
                "type".into()
            };
            errors.insert(
                field,
                "must be module.action: lowercase letters, digits, _ and -".into(),
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
    Ok(if batch {
        (StatusCode::ACCEPTED, Json(Data { data: accepted })).into_response()
    } else {
        let data: EventAccepted = accepted.remove(0);
        (StatusCode::ACCEPTED, Json(Data { data })).into_response()
    })
}
