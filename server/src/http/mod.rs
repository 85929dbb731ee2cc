//! The REST API under `/api`, and the console around it.

mod auth;
mod console;
mod deliveries;
mod events;
mod health;
mod hooks;
pub mod json;
mod objects;
mod serve;
mod session;
mod triggers;
mod users;
pub(crate) mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::delivery::Deliverer;
use crate::error::AppError;
use crate::security::{Cipher, LoginLimiter, Throttle};
use crate::store::Store;

pub use auth::Admin;
pub use serve::{max_connections, serve};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub cipher: Cipher,
    pub config: Arc<Config>,
    pub deliverer: Deliverer,
    pub login_limiter: Arc<LoginLimiter>,
    /// Wrong credentials on trigger URLs, per trigger.
    pub trigger_throttle: Arc<Throttle>,
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(health::router())
        .merge(session::router())
        .merge(webhooks::router())
        .merge(objects::router())
        .merge(events::router())
        .merge(deliveries::router())
        .merge(triggers::router())
        .merge(users::router())
        .fallback(async || AppError::NotFound("route"))
        .method_not_allowed_fallback(async || AppError::MethodNotAllowed)
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT));
    let mut router = Router::new()
        .nest("/api", api)
        .merge(hooks::router())
        .merge(console::router(&state.config.static_dir));
    for (name, value) in console::security_headers() {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
        // A body that stops arriving for as long as an idle connection may wait: 408.
        .layer(RequestBodyTimeoutLayer::new(state.config.idle_timeout))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Unix milliseconds as RFC 3339 in UTC, as every timestamp of the API reads:
/// always with milliseconds, so that the text sorts as the time does.
pub fn rfc3339(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// An RFC 3339 query or body value as Unix milliseconds; 422 naming `field` otherwise.
pub fn parse_time(field: &str, text: &str) -> Result<i64, AppError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            AppError::field(
                field,
                "must be an RFC 3339 time such as 2026-11-23T10:00:00Z",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_always_carry_milliseconds() {
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(rfc3339(1_700_000_000_050), "2023-11-14T22:13:20.050Z");
        assert!(rfc3339(1_700_000_000_000) < rfc3339(1_700_000_000_001));
    }
}
