//! The `whsec_` signing secret: read and rotated.

use std::time::Duration;

use api::{Data, HeaderOut, SecretOut};
use axum::extract::State;
use base64::Engine;
use rand::RngCore;

use crate::error::{AppError, Result};
use crate::http::json::Json;
use crate::http::params::Path;
use crate::http::{Admin, AppState};
use crate::store::Sealed;
use crate::time::now_ms;

/// After a rotation the old signing secret keeps signing this long, so that
/// receivers can switch without dropping deliveries.
const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// `GET /api/webhooks/{id}/secret`: the signing secret receivers verify with.
#[utoipa::path(get, operation_id = "get_webhook_secret", path = "/webhooks/{id}/secret", tag = "webhooks", params(("id" = String, Path, description = "The webhook")), responses((status = 200, description = "The signing secret", body = Data<SecretOut>)))]
pub(super) async fn secret(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<Json<Data<SecretOut>>> {
    let sealed = state
        .store
        .signing_secret(&id)
        .await?
        .ok_or(AppError::NotFound("webhook"))?;
    Ok(Json(Data {
        data: SecretOut {
            secret: state.cipher.open(&sealed.0)?,
        },
    }))
}

/// `GET /api/webhooks/{id}/headers/{name}`: one extra header's value, which
/// the webhook's representation shows as `***`. The name in any case.
#[utoipa::path(get, operation_id = "get_webhook_header", path = "/webhooks/{id}/headers/{name}", tag = "webhooks", params(("id" = String, Path, description = "The webhook"), ("name" = String, Path, description = "The header's name")), responses((status = 200, description = "The header's value", body = Data<HeaderOut>)))]
pub(super) async fn header(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path((id, name)): Path<(String, String)>,
) -> Result<Json<Data<HeaderOut>>> {
    let webhook = super::find(&state, &id).await?;
    let (name, sealed) = webhook
        .settings
        .headers
        .into_iter()
        .find(|(stored, _)| stored.eq_ignore_ascii_case(&name))
        .ok_or(AppError::NotFound("header"))?;
    Ok(Json(Data {
        data: HeaderOut {
            value: state.cipher.open(&sealed.0)?,
            name,
        },
    }))
}

/// `POST /api/webhooks/{id}/secret/rotate`: a new secret; the old one signs too for 24 h.
#[utoipa::path(post, operation_id = "rotate_webhook_secret", path = "/webhooks/{id}/secret/rotate", tag = "webhooks", params(("id" = String, Path, description = "The webhook")), responses((status = 200, description = "The new secret; the old one signs too for 24 h", body = Data<SecretOut>)))]
pub(super) async fn rotate_secret(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<Json<Data<SecretOut>>> {
    let secret = new_signing_secret();
    let previous_until = now_ms() + ROTATION_OVERLAP.as_millis() as i64;
    let sealed = Sealed(state.cipher.seal(&secret));
    if !state
        .store
        .rotate_secret(&id, &sealed, previous_until)
        .await?
    {
        return Err(AppError::NotFound("webhook"));
    }
    state.deliverer.forget(&id);
    Ok(Json(Data {
        data: SecretOut { secret },
    }))
}

/// `whsec_` and 32 random bytes in base64, as Standard Webhooks verifiers expect.
pub(super) fn new_signing_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}
