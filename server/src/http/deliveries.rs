//! `/api/deliveries`: View Logs. Everyone logged in may read; redelivering is for administrators.

use api::{Data, DeliveryDetail, DeliveryOut, List};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;

use super::json::Json;
use super::{Admin, AppState, rfc3339};
use crate::delivery::attempt_out;
use crate::error::{AppError, Result};
use crate::store::{Caller, Delivery, DeliveryFilter, Redelivery};

const STATUSES: [&str; 4] = ["pending", "retrying", "succeeded", "failed"];
const MAX_LIMIT: u32 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{id}", get(show))
        .route("/deliveries/{id}/redeliver", post(redeliver))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    webhook_id: Option<String>,
    status: Option<String>,
    event_type: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn parse_time(field: &str, text: &str) -> Result<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            AppError::field(
                field,
                "must be an RFC 3339 time such as 2026-11-23T10:00:00Z",
            )
        })
}

/// Empty query parameters (`?status=`) mean "any".
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// `GET /api/deliveries`: newest first, filtered, `limit` (1–500, default 50) per page.
async fn list(
    State(state): State<AppState>,
    _: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<List<DeliveryOut>>> {
    let status = given(query.status);
    if let Some(status) = &status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(AppError::field(
            "status",
            "must be pending, retrying, succeeded or failed",
        ));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::field(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let filter = DeliveryFilter {
        webhook_id: given(query.webhook_id),
        status,
        event_type: given(query.event_type),
        since: given(query.since)
            .map(|t| parse_time("since", &t))
            .transpose()?,
        until: given(query.until)
            .map(|t| parse_time("until", &t))
            .transpose()?,
    };
    let deliveries = state
        .store
        .deliveries(&filter, given(query.cursor).as_deref(), limit)
        .await?;
    let next_cursor = (deliveries.len() == limit as usize)
        .then(|| deliveries.last().map(|d| d.id.clone()))
        .flatten();
    Ok(Json(List {
        data: deliveries.into_iter().map(delivery_out).collect(),
        next_cursor,
    }))
}

/// `GET /api/deliveries/{id}`: with every attempt, oldest first, credentials masked.
async fn show(
    State(state): State<AppState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Json<Data<DeliveryDetail>>> {
    let delivery = state
        .store
        .delivery(&id)
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    let attempts = state.store.attempts(&id).await?;
    Ok(Json(Data {
        data: DeliveryDetail {
            delivery: delivery_out(delivery),
            attempts: attempts.iter().map(attempt_out).collect(),
        },
    }))
}

/// `POST /api/deliveries/{id}/redeliver`: 202, one more attempt queued now; 409 while one is in flight.
async fn redeliver(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Data<DeliveryOut>>)> {
    match state.store.redeliver(&id).await? {
        Redelivery::Queued => {}
        Redelivery::InFlight => {
            return Err(AppError::Conflict(
                "an attempt of this delivery is in flight".into(),
            ));
        }
        Redelivery::Missing => return Err(AppError::NotFound("delivery")),
    }
    state.deliverer.wake();
    let delivery = state
        .store
        .delivery(&id)
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Data {
            data: delivery_out(delivery),
        }),
    ))
}

fn delivery_out(delivery: Delivery) -> DeliveryOut {
    DeliveryOut {
        id: delivery.id,
        webhook_id: delivery.webhook_id,
        event_id: delivery.event_id,
        event_type: delivery.event_type,
        status: delivery.status,
        attempt_count: delivery.attempt_count,
        next_attempt_at: delivery.next_attempt_at.map(rfc3339),
        last_status_code: delivery.last_status_code,
        last_error: delivery.last_error,
        last_duration_ms: delivery.last_duration_ms,
        created_at: rfc3339(delivery.created_at),
    }
}
