//! `POST /api/events`: a host application publishes its own changes.

mod input;

use api::{Data, EventAccepted};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use input::MAX_BATCH;
use input::Publish;

use super::json::Json;
use super::{Admin, AppState};
use crate::error::Result;

/// The answer of `POST /api/events`: like the body, one or a batch.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum Accepted {
    One(Data<EventAccepted>),
    Batch(Data<Vec<EventAccepted>>),
}

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
    let publish = Publish::read(body)?;
    let batch = matches!(publish, Publish::Batch(_));
    let events = publish.into_events()?;
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
