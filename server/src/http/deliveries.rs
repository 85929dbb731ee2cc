//! `/api/deliveries`: View Logs. Everyone logged in may read; redelivering is for administrators.

use std::time::Duration;

use api::{
    AttemptOut, AttemptStats, Attention, Data, DeliveryDetail, DeliveryOut, List, StatsBucket,
};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::Json;
use super::paging::Page;
use super::params::{Path, Query};
use super::{Admin, AppState, parse_time};
use crate::config::parse_duration;
use crate::error::{AppError, Result};
use crate::events::is_event_pattern;
use crate::model::DeliveryStatus;
use crate::store::{AttemptRecord, BodySource, Caller, Delivery, DeliveryFilter, Redelivery};
use crate::time::{now_ms, rfc3339};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(stats))
        .routes(routes!(show))
        .routes(routes!(redeliver))
        .routes(routes!(attention))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only the deliveries to this webhook.
    webhook_id: Option<String>,
    /// `pending`, `retrying`, `succeeded`, `failed` or `paused`.
    status: Option<String>,
    /// An event type, or a pattern as webhooks subscribe with (`ticket.*`, `*`).
    event_type: Option<String>,
    /// An event id: the deliveries of that event.
    search: Option<String>,
    /// Created at or after this RFC 3339 time.
    since: Option<String>,
    /// Created before this RFC 3339 time.
    until: Option<String>,
    /// 1 to 1,000; 50 if left out.
    limit: Option<u32>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// Empty query parameters (`?status=`) mean "any".
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// `GET /api/deliveries`: newest first, filtered, `limit` (1–1,000, default 50) per page.
#[utoipa::path(get, operation_id = "list_deliveries", path = "/deliveries", tag = "deliveries", params(ListQuery), responses((status = 200, description = "A page of deliveries, newest first", body = List<DeliveryOut>)))]
async fn list(
    State(state): State<AppState>,
    _: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<List<DeliveryOut>>> {
    let status = given(query.status)
        .map(|text| {
            DeliveryStatus::parse(&text).ok_or_else(|| {
                AppError::field(
                    "status",
                    "must be pending, retrying, succeeded, failed or paused",
                )
            })
        })
        .transpose()?;
    let page = Page::read(
        &state.cipher,
        "deliveries",
        query.limit,
        query.cursor.as_deref(),
        50,
    )?;
    let filter = DeliveryFilter {
        webhook_id: given(query.webhook_id),
        status,
        event_type: given(query.event_type)
            .map(|pattern| {
                if is_event_pattern(&pattern) {
                    Ok(pattern)
                } else {
                    Err(AppError::field(
                        "event_type",
                        "must be an event type or a pattern like ticket.* or *",
                    ))
                }
            })
            .transpose()?,
        search: given(query.search).map(|text| text.trim().to_string()),
        since: given(query.since)
            .map(|t| parse_time("since", &t))
            .transpose()?,
        until: given(query.until)
            .map(|t| parse_time("until", &t))
            .transpose()?,
    };
    let deliveries = state
        .store
        .deliveries(&filter, page.after.as_deref(), page.fetch())
        .await?;
    let (deliveries, next_cursor) = page.finish(&state.cipher, deliveries, |d| d.id.clone());
    Ok(Json(List {
        data: deliveries.into_iter().map(delivery_out).collect(),
        next_cursor,
    }))
}

/// `GET /api/deliveries/{id}`: with every attempt, oldest first, credentials masked.
#[utoipa::path(get, operation_id = "get_delivery", path = "/deliveries/{id}", tag = "deliveries", params(("id" = String, Path, description = "The delivery")), responses((status = 200, description = "The delivery with its attempts", body = Data<DeliveryDetail>)))]
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
    let mut attempts = state.store.attempts(&id).await?;
    render_bodies(&state, &id, &mut attempts).await?;
    Ok(Json(Data {
        data: DeliveryDetail {
            delivery: delivery_out(delivery),
            attempts: attempts
                .iter()
                .map(|attempt| attempt_out(attempt, state.config.delivery_timeout))
                .collect(),
        },
    }))
}

/// Fills in the request bodies kept as a reference to the delivery's event.
async fn render_bodies(state: &AppState, id: &str, attempts: &mut [AttemptRecord]) -> Result<()> {
    if !attempts
        .iter()
        .any(|a| matches!(a.body_source, BodySource::Event { .. }))
    {
        return Ok(());
    }
    let Some(event) = state.store.delivery_event(id).await? else {
        return Ok(());
    };
    for attempt in attempts {
        attempt.render_body(&event);
    }
    Ok(())
}

/// The span `GET /api/attention` counts failed deliveries over.
const ATTENTION_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// `GET /api/attention`: the webhooks hookhub switched off and the
/// deliveries failed in the last 24 hours, counted.
#[utoipa::path(get, operation_id = "get_attention", path = "/attention", tag = "deliveries", responses((status = 200, description = "What wants an administrator's eyes", body = Data<Attention>)))]
async fn attention(State(state): State<AppState>, _: Caller) -> Result<Json<Data<Attention>>> {
    let since = now_ms() - ATTENTION_WINDOW_MS;
    let (disabled_webhooks, failed_deliveries) = state.store.attention(since).await?;
    Ok(Json(Data {
        data: Attention {
            disabled_webhooks,
            failed_deliveries,
        },
    }))
}

/// `POST /api/deliveries/{id}/redeliver`: 202, one more attempt queued now; 409 while one is
/// in flight or while it is paused.
#[utoipa::path(post, operation_id = "redeliver", path = "/deliveries/{id}/redeliver", tag = "deliveries", params(("id" = String, Path, description = "The delivery")), responses((status = 202, description = "Queued again", body = Data<DeliveryOut>)))]
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
        Redelivery::Paused => {
            return Err(AppError::Conflict(
                "this delivery is paused: it goes out once its webhook is switched on again".into(),
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

/// Buckets in a chart.
const BUCKETS: i64 = 24;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    /// Only this webhook's attempts.
    webhook_id: Option<String>,
    /// How far back: `1h`, `24h` (default), `7d`...
    window: Option<String>,
}

/// `GET /api/deliveries/stats`: succeeded and failed attempts in 24 buckets
/// over the window, every bucket present, oldest first.
#[utoipa::path(get, operation_id = "delivery_stats", path = "/deliveries/stats", tag = "deliveries", params(StatsQuery), responses((status = 200, description = "Attempts per bucket", body = Data<AttemptStats>)))]
async fn stats(
    State(state): State<AppState>,
    _: Caller,
    Query(query): Query<StatsQuery>,
) -> Result<Json<Data<AttemptStats>>> {
    let window = parse_duration(query.window.as_deref().unwrap_or("24h"))
        .ok()
        .filter(|w| (60..=90 * 86_400).contains(&w.as_secs()))
        .ok_or_else(|| {
            AppError::field("window", "must be a duration from 1m to 90d, such as 24h")
        })?;
    let bucket_ms = (window.as_millis() as i64 / BUCKETS).max(1);
    // Buckets aligned on their size, so that a chart refreshed later keeps its bars in place.
    let until = (now_ms() / bucket_ms + 1) * bucket_ms;
    let since = until - bucket_ms * BUCKETS;
    let counts = state
        .store
        .attempt_histogram(given(query.webhook_id).as_deref(), since, until, bucket_ms)
        .await?;
    let buckets = (0..BUCKETS)
        .map(|n| {
            let start = since + n * bucket_ms;
            let (succeeded, failed) = counts
                .iter()
                .find(|(at, _, _)| *at == start)
                .map_or((0, 0), |(_, s, f)| (*s, *f));
            StatsBucket {
                start: rfc3339(start),
                succeeded,
                failed,
            }
        })
        .collect();
    Ok(Json(Data {
        data: AttemptStats {
            bucket_seconds: (bucket_ms / 1000) as u64,
            buckets,
        },
    }))
}

fn delivery_out(delivery: Delivery) -> DeliveryOut {
    DeliveryOut {
        id: delivery.id,
        webhook_id: delivery.webhook_id,
        webhook_name: delivery.webhook_name,
        event_id: delivery.event_id,
        event_type: delivery.event_type,
        status: delivery.status.into(),
        attempt_count: delivery.attempt_count,
        next_attempt_at: delivery.next_attempt_at.map(rfc3339),
        last_status_code: delivery.last_status_code,
        last_error: delivery.last_error,
        last_duration_ms: delivery.last_duration_ms,
        created_at: rfc3339(delivery.created_at),
        ordering_key: delivery.ordering_key,
        waits_for: delivery.waits_for,
        probe: delivery.probe,
    }
}

/// An attempt as the API shows it, its failure said in words as a delivery
/// timeout of `timeout` says it.
pub fn attempt_out(attempt: &AttemptRecord, timeout: Duration) -> AttemptOut {
    let status = attempt.response.as_ref().map(|r| r.status_code);
    let explained = attempt.error_class.as_deref().map(|class| {
        crate::delivery::explain(
            class,
            attempt.error.as_deref().unwrap_or(""),
            status,
            timeout,
        )
    });
    AttemptOut {
        delivery_id: attempt.delivery_id.clone(),
        status: if attempt.succeeded() {
            "succeeded"
        } else {
            "failed"
        }
        .to_string(),
        started_at: rfc3339(attempt.started_at),
        duration_ms: attempt.duration_ms,
        request: attempt.request.clone().into(),
        response: attempt.response.clone().map(Into::into),
        error_class: attempt.error_class.clone(),
        error: attempt.error.clone(),
        error_words: explained.as_ref().map(|e| e.words.clone()),
        error_hint: explained.map(|e| e.hint.to_string()),
    }
}
