//! The REST API under `/api`, and the console around it.

mod auth;
mod budget;
mod call_log;
mod console;
mod deliveries;
mod events;
mod health;
mod hooks;
pub mod json;
mod metrics;
mod objects;
mod observe;
mod openapi;
mod paging;
mod params;
mod rules;
mod serve;
mod session;
mod throttle;
mod triggers;
mod users;
mod webhooks;
mod wire;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::{Extension, Router};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::delivery::Deliverer;
use crate::error::AppError;
use crate::security::{Cipher, PasswordChecks};
use crate::store::Store;

pub use auth::Admin;
pub use call_log::CallLog;
pub use metrics::open_router as open_metrics_router;
pub use serve::{max_connections, serve};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub cipher: Cipher,
    pub config: Arc<Config>,
    pub deliverer: Deliverer,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub password_checks: Arc<PasswordChecks>,
    /// Refused trigger calls, counted.
    pub call_log: Arc<CallLog>,
    /// Whether the database was last seen reachable.
    pub database: Arc<health::Database>,
}

pub fn router(state: AppState) -> Router {
    let (api, metrics, document) = documented();
    let api = api
        .layer(Extension(openapi::Text(document.into())))
        .fallback(async || AppError::NotFound("route"))
        .method_not_allowed_fallback(async || AppError::MethodNotAllowed)
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT));
    // Answers of the API and of trigger URLs are for their caller alone
    // (secrets, tokens, event data): no cache, shared or private, keeps them.
    let no_store = SetResponseHeaderLayer::overriding(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    let mut router = Router::new()
        .nest("/api", api.layer(no_store.clone()))
        .merge(hooks::router().layer(no_store))
        .merge(metrics)
        .merge(console::router(&state.config.static_dir));
    for (name, value) in console::security_headers() {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(budget::BodyBudget::default()),
            budget::admit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            health::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            observe::observe,
        ))
        // A body that stops arriving for as long as an idle connection may wait: 408.
        .layer(RequestBodyTimeoutLayer::new(state.config.idle_timeout))
        .with_state(state)
}

/// The OpenAPI document of the API, as `/api/openapi.json` serves it.
pub fn openapi_document() -> String {
    documented().2
}

/// The routes under `/api`, `/metrics`, and the OpenAPI document they make.
fn documented() -> (Router<AppState>, Router<AppState>, String) {
    let (api, api_document) = OpenApiRouter::new()
        .merge(health::router())
        .merge(session::router())
        .merge(webhooks::router())
        .merge(objects::router())
        .merge(events::router())
        .merge(deliveries::router())
        .merge(triggers::router())
        .merge(users::router())
        .routes(routes!(openapi::document))
        .split_for_parts();
    let (metrics, metrics_document) = metrics::router().split_for_parts();
    let mut document = openapi::base().nest("/api", api_document);
    document.merge(metrics_document);
    openapi::finish(&mut document);
    let mut document = serde_json::to_value(&document).expect("the OpenAPI document serializes");
    openapi::refine(&mut document);
    let text = document.to_string();
    (api, metrics, text)
}

/// An RFC 3339 query or body value as Unix milliseconds; 422 naming `field` otherwise.
pub fn parse_time(field: &str, text: &str) -> Result<i64, AppError> {
    crate::time::parse_rfc3339(text).ok_or_else(|| {
        AppError::field(
            field,
            "must be an RFC 3339 time such as 2026-11-23T10:00:00Z",
        )
    })
}
