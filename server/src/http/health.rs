use api::{Data, Health};
use axum::Router;
use axum::routing::get;

use super::AppState;
use super::json::Json;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// `GET /api/health`: the one route that needs no token.
async fn health() -> Json<Data<Health>> {
    Json(Data {
        data: Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
    })
}
