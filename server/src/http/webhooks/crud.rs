//! Creating, reading, changing and deleting webhooks.

use std::time::Duration;

use api::{Auth, Author, Data, List, Permissions, WebhookHealth, WebhookIn, WebhookOut};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::health::{health, page_with_health, success_rates};
use super::secrets::new_signing_secret;
use super::{find, input};
use crate::error::{AppError, Result};
use crate::http::json::Json;
use crate::http::paging::PageQuery;
use crate::http::params::{Path, Query};
use crate::http::{Admin, AppState};
use crate::store::{Caller, Sealed, StoredAuth, Switch, Webhook};
use crate::time::rfc3339;

/// `POST /api/webhooks`: 201 with the webhook and its `Location`.
#[utoipa::path(post, operation_id = "create_webhook", path = "/webhooks", tag = "webhooks", request_body = WebhookIn, responses((status = 201, description = "Created; `Location` names it", body = Data<WebhookOut>)))]
pub(super) async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Json(input): Json<WebhookIn>,
) -> Result<impl IntoResponse> {
    let settings = input::settings(input, None, &state.cipher)?;
    refuse_private_address(&state, &settings.url)?;
    let secret = Sealed(state.cipher.seal(&new_signing_secret()));
    let webhook = state
        .store
        .create_webhook(&settings, &caller.id, &secret)
        .await?;
    let location = format!("/api/webhooks/{}", webhook.id);
    let health = health(&webhook, None, 0);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Data {
            data: webhook_out(webhook, &caller, health),
        }),
    ))
}

/// `GET /api/webhooks`: a page of them, oldest first.
#[utoipa::path(get, operation_id = "list_webhooks", path = "/webhooks", tag = "webhooks", params(PageQuery), responses((status = 200, description = "A page of webhooks, oldest first", body = List<WebhookOut>)))]
pub(super) async fn list(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<WebhookOut>>> {
    let (webhooks, next_cursor) = page_with_health(&state, query, "webhooks").await?;
    Ok(Json(List {
        data: webhooks
            .into_iter()
            .map(|(webhook, health)| webhook_out(webhook, &caller, health))
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, operation_id = "get_webhook", path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "The webhook")), responses((status = 200, description = "The webhook", body = Data<WebhookOut>)))]
pub(super) async fn show(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<Json<Data<WebhookOut>>> {
    let webhook = find(&state, &id).await?;
    let rate = success_rates(&state, Some(&id)).await?.get(&id).copied();
    let paused = state.store.paused_deliveries(Some(&id)).await?;
    let paused = paused.get(&id).copied().unwrap_or(0);
    let health = health(&webhook, rate, paused);
    Ok(Json(Data {
        data: webhook_out(webhook, &caller, health),
    }))
}

/// `PATCH /api/webhooks/{id}`: any subset of the writable fields; 204.
#[utoipa::path(patch, operation_id = "update_webhook", path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "The webhook")), request_body = WebhookIn, responses((status = 204, description = "Changed")))]
pub(super) async fn update(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    Json(input): Json<WebhookIn>,
) -> Result<StatusCode> {
    let webhook = find(&state, &id).await?;
    let switch = Switch::asked(input.active, webhook.settings.active);
    let url_given = input.url.is_some();
    let settings = input::settings(input, Some(&webhook.settings), &state.cipher)?;
    if url_given {
        refuse_private_address(&state, &settings.url)?;
    }
    if !state.store.update_webhook(&id, &settings, switch).await? {
        return Err(AppError::NotFound("webhook"));
    }
    state.deliverer.forget(&id);
    if switch == Switch::On {
        // Its paused deliveries are due.
        state.deliverer.wake();
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, operation_id = "delete_webhook", path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "The webhook")), responses((status = 204, description = "Deleted with its deliveries")))]
pub(super) async fn remove(
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

/// A webhook as the API shows it, with its health.
fn webhook_out(webhook: Webhook, caller: &Caller, health: WebhookHealth) -> WebhookOut {
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
        method: settings.method.into(),
        auth,
        data_location: settings.data_location,
        headers: settings
            .headers
            .into_keys()
            .map(|name| (name, crate::model::MASKED.to_string()))
            .collect(),
        filter: settings.filter,
        rate_limit: settings.rate_limit,
        retry_schedule: settings
            .retry_schedule
            .map(|steps| steps.iter().map(|step| retry_step_text(*step)).collect()),
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
        health,
    }
}

/// A literal loopback, private or metadata address is refused when it is
/// written (422), unless private targets are allowed, rather than at every
/// delivery.
pub(super) fn refuse_private_address(state: &AppState, url: &str) -> Result<()> {
    match input::private_address(url) {
        Some(problem) if !state.config.allow_private_targets => {
            Err(AppError::field("url", problem))
        }
        _ => Ok(()),
    }
}

/// A retry step as written: the largest whole unit (`90s`, `2m`, `1h`).
fn retry_step_text(step: Duration) -> String {
    let seconds = step.as_secs();
    match seconds {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
