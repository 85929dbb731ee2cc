//! `/api/webhooks`: administrators manage where events go; every reader sees
//! them by name and health at `/api/deliveries/webhooks`.

mod actions;
mod crud;
mod health;
pub(super) mod input;
mod secrets;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::error::{AppError, Result};
use crate::store::Webhook;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(crud::list, crud::create))
        .routes(routes!(actions::preview))
        .routes(routes!(crud::show, crud::update, crud::remove))
        .routes(routes!(secrets::secret))
        .routes(routes!(secrets::header))
        .routes(routes!(secrets::rotate_secret))
        .routes(routes!(actions::test))
        .routes(routes!(actions::recover))
        .routes(routes!(health::summaries))
}

/// The webhook `id`, or 404.
async fn find(state: &AppState, id: &str) -> Result<Webhook> {
    state
        .store
        .webhook(id)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}
