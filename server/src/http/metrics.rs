//! `GET /metrics` for Prometheus.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Admin, AppState};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::store::Store;

/// OpenMetrics text, which Prometheus reads and prefers.
const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `/metrics` behind an administrator's token, on the main listener.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// `/metrics` without a token, for `--metrics-listen`: an address that only
/// the monitoring network reaches.
pub fn open_router(store: Store, metrics: Arc<Metrics>) -> Router {
    let scrape = async move || scrape(&store, &metrics).await;
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(async || AppError::NotFound("route"))
}

/// Prometheus metrics: deliveries, attempt durations, the queue, requests, trigger calls.
#[utoipa::path(
    get, operation_id = "metrics",
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String))
)]
async fn metrics(State(state): State<AppState>, _: Admin) -> Result<Response, AppError> {
    scrape(&state.store, &state.metrics).await
}

async fn scrape(store: &Store, metrics: &Metrics) -> Result<Response, AppError> {
    let depth = store.queue_depth().await?;
    let text = metrics.render(&depth, crate::time::now_ms());
    Ok(([(CONTENT_TYPE, CONTENT_TYPE_OPENMETRICS)], text).into_response())
}
