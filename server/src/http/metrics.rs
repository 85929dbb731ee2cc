//! `GET /metrics` for Prometheus, and the counting of every request by route.

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{Admin, AppState};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::store::Store;

/// OpenMetrics text, which Prometheus reads and prefers.
const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `/metrics` behind an administrator's token, on the main listener.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// `/metrics` without a token, for `--metrics-listen`: an address that only
/// the monitoring network reaches.
pub fn open_router(store: Store, metrics: Arc<Metrics>) -> Router {
    let scrape = async move || scrape(&store, &metrics).await;
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(async || AppError::NotFound("route"))
}

async fn metrics(State(state): State<AppState>, _: Admin) -> Result<Response, AppError> {
    scrape(&state.store, &state.metrics).await
}

async fn scrape(store: &Store, metrics: &Metrics) -> Result<Response, AppError> {
    let depth = store.queue_depth().await?;
    let text = metrics.render(&depth, crate::time::now_ms());
    Ok(([(CONTENT_TYPE, CONTENT_TYPE_OPENMETRICS)], text).into_response())
}

/// Counts each answered request under its route's template; requests that
/// match no route count as `unmatched`, so that probing paths cannot make
/// new series.
pub async fn count(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let response = next.run(request).await;
    let method = if is_standard(&method) {
        method.as_str()
    } else {
        "other"
    };
    metrics.request(method, &route, response.status().as_u16());
    response
}

/// One of HTTP's registered methods: any other name is the caller's choice
/// and must not become a label value.
fn is_standard(method: &axum::http::Method) -> bool {
    use axum::http::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .contains(method)
}
