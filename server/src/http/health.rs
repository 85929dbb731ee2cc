use api::{Data, Health};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::json::Json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// `GET /api/health`: the one route that needs no token.
#[utoipa::path(get, operation_id = "health", path = "/health", tag = "session", security(()), responses((status = 200, description = "The server answers", body = Data<Health>)))]
async fn health() -> Json<Data<Health>> {
    Json(Data {
        data: Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
    })
}
