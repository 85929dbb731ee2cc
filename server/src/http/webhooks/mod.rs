//! `/api/webhooks`: administrators manage where events go.

pub(crate) mod input;

use std::collections::HashMap;
use std::time::Duration;

use api::{
    AttemptOut, AttemptRequest, Auth, Author, Data, List, Permissions, PreviewIn, RecoverIn,
    RecoverOut, SecretOut, WebhookHealth, WebhookIn, WebhookOut,
};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use rand::RngCore;

use super::json::Json;
use super::{Admin, AppState, parse_time, rfc3339};
use crate::error::{AppError, Result};
use crate::store::{Caller, Sealed, StoredAuth, Webhook, now_ms};

/// After a rotation the old signing secret keeps signing this long, so that
/// receivers can switch without dropping deliveries.
const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/preview", post(preview))
        .route("/webhooks/{id}", get(show).patch(update).delete(remove))
        .route("/webhooks/{id}/secret", get(secret))
        .route("/webhooks/{id}/secret/rotate", post(rotate_secret))
        .route("/webhooks/{id}/test", post(test))
        .route("/webhooks/{id}/recover", post(recover))
}

/// `POST /api/webhooks`: 201 with the webhook and its `Location`.
async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Json(input): Json<WebhookIn>,
) -> Result<impl IntoResponse> {
    let settings = input::settings(input, None, &state.cipher)?;
    let secret = Sealed(state.cipher.seal(&new_signing_secret()));
    let webhook = state
        .store
        .create_webhook(&settings, &caller.id, &secret)
        .await?;
    let location = format!("/api/webhooks/{}", webhook.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Data {
            data: webhook_out(webhook, &caller, None),
        }),
    ))
}

/// `GET /api/webhooks`: all of them, oldest first.
async fn list(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<Json<List<WebhookOut>>> {
    let webhooks = state.store.webhooks().await?;
    let rates = success_rates(&state).await?;
    Ok(Json(List {
        data: webhooks
            .into_iter()
            .map(|w| {
                let rate = rates.get(&w.id).copied();
                webhook_out(w, &caller, rate)
            })
            .collect(),
        next_cursor: None,
    }))
}

async fn show(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<Json<Data<WebhookOut>>> {
    let webhook = find(&state, &id).await?;
    let rate = success_rates(&state).await?.get(&id).copied();
    Ok(Json(Data {
        data: webhook_out(webhook, &caller, rate),
    }))
}

/// `PATCH /api/webhooks/{id}`: any subset of the writable fields; 204.
async fn update(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    Json(input): Json<WebhookIn>,
) -> Result<StatusCode> {
    let webhook = find(&state, &id).await?;
    let settings = input::settings(input, Some(&webhook.settings), &state.cipher)?;
    if !state.store.update_webhook(&id, &settings).await? {
        return Err(AppError::NotFound("webhook"));
    }
    state.deliverer.forget(&id);
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    if !state.store.delete_webhook(&id).await? {
        return Err(AppError::NotFound("webhook"));
    }
    state.deliverer.forget(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/webhooks/{id}/secret`: the signing secret receivers verify with.
async fn secret(
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

/// `POST /api/webhooks/{id}/secret/rotate`: a new secret; the old one signs too for 24 h.
async fn rotate_secret(
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

/// `POST /api/webhooks/{id}/test`: sends a `webhook.test` event now, even to
/// an inactive webhook, and answers with the attempt.
async fn test(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<Json<Data<AttemptOut>>> {
    find(&state, &id).await?;
    let attempt = state.deliverer.test(&id).await?;
    Ok(Json(Data { data: attempt }))
}

/// `POST /api/webhooks/{id}/recover`: every delivery that failed in the window
/// gets one more attempt now; 202 with how many.
async fn recover(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    Json(input): Json<RecoverIn>,
) -> Result<(StatusCode, Json<Data<RecoverOut>>)> {
    find(&state, &id).await?;
    let since = parse_time("since", &input.since)?;
    let until = match &input.until {
        Some(until) => parse_time("until", until)?,
        None => now_ms(),
    };
    if until <= since {
        return Err(AppError::field("until", "must be after since"));
    }
    let queued = state.store.recover(&id, since, until).await?;
    if queued > 0 {
        state.deliverer.wake();
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Data {
            data: RecoverOut { queued },
        }),
    ))
}

/// `POST /api/webhooks/preview`: the exact request a sample event would
/// produce with these settings, without saving anything.
async fn preview(
    State(state): State<AppState>,
    Admin(_): Admin,
    Json(input): Json<PreviewIn>,
) -> Result<Json<Data<AttemptRequest>>> {
    let existing = match &input.id {
        Some(id) => Some(find(&state, id).await?),
        None => None,
    };
    let settings = input::settings(
        input.webhook,
        existing.as_ref().map(|w| &w.settings),
        &state.cipher,
    )?;
    let request = state
        .deliverer
        .preview(&settings, input.id.as_deref())
        .await?;
    Ok(Json(Data { data: request }))
}

async fn find(state: &AppState, id: &str) -> Result<Webhook> {
    state
        .store
        .webhook(id)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

/// `whsec_` and 32 random bytes in base64, as Standard Webhooks verifiers expect.
fn new_signing_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The window `health.success_rate` looks at.
const HEALTH_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Each webhook's share of attempts that succeeded in the last 24 hours.
async fn success_rates(state: &AppState) -> Result<HashMap<String, f64>> {
    let since = now_ms() - HEALTH_WINDOW.as_millis() as i64;
    let totals = state.store.attempt_totals(since).await?;
    Ok(totals
        .into_iter()
        .filter(|(_, (_, total))| *total > 0)
        .map(|(id, (succeeded, total))| (id, succeeded as f64 / total as f64))
        .collect())
}

fn webhook_out(webhook: Webhook, caller: &Caller, success_rate: Option<f64>) -> WebhookOut {
    let settings = webhook.settings;
    let auth = match settings.auth {
        StoredAuth::None => Auth::None,
        StoredAuth::Basic { username, .. } => Auth::Basic {
            username,
            password_set: true,
        },
        StoredAuth::Bearer { .. } => Auth::Bearer { token_set: true },
    };
    WebhookOut {
        id: webhook.id,
        content_type: "webhook".into(),
        name: settings.name,
        url: settings.url,
        events: settings.events,
        active: settings.active,
        method: settings.method,
        auth,
        data_location: settings.data_location,
        headers: settings.headers,
        author: Author {
            id: webhook.author_id,
            name: webhook.author_name,
        },
        permissions: Permissions {
            edit: caller.is_admin(),
            delete: caller.is_admin(),
        },
        created_at: rfc3339(webhook.created_at),
        updated_at: rfc3339(webhook.updated_at),
        health: WebhookHealth {
            success_rate,
            consecutive_failures: webhook.consecutive_failures,
            disabled_reason: webhook.disabled_reason,
        },
    }
}
