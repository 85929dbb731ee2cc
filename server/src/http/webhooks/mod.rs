//! `/api/webhooks`: administrators manage where events go.

mod actions;
mod crud;
mod input;
mod secrets;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;
use crate::error::{AppError, Result};
use crate::store::Webhook;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(crud::list).post(crud::create))
        .route("/webhooks/preview", post(actions::preview))
        .route(
            "/webhooks/{id}",
            get(crud::show).patch(crud::update).delete(crud::remove),
        )
        .route("/webhooks/{id}/secret", get(secrets::secret))
        .route("/webhooks/{id}/headers/{name}", get(secrets::header))
        .route("/webhooks/{id}/secret/rotate", post(secrets::rotate_secret))
        .route("/webhooks/{id}/test", post(actions::test))
        .route("/webhooks/{id}/recover", post(actions::recover))
}

/// The webhook `id`, or 404.
async fn find(state: &AppState, id: &str) -> Result<Webhook> {
    state
        .store
        .webhook(id)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}
