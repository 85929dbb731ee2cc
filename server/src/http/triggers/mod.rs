//! `/api/triggers`: administrators manage the URLs outside systems call.

pub(crate) mod input;

use api::{
    Author, Data, HmacAlgorithm, HmacEncoding, List, Permissions, SignatureScheme, TokenOut,
    TriggerAuthOut, TriggerCallOut, TriggerIn, TriggerOut,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::Json;
use super::paging::{Page, PageQuery, created};
use super::params::{Path, Query};
use super::{Admin, AppState};
use crate::error::{AppError, Result};
use crate::security::inbound::{Algorithm, Encoding, Scheme};
use crate::security::{TokenHash, random_text};
use crate::store::{Caller, Trigger, TriggerAuth, TriggerCall};
use crate::time::rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(token))
        .routes(routes!(calls))
}

/// `POST /api/triggers`: 201 with the trigger and its `hook_url`.
#[utoipa::path(post, operation_id = "create_trigger", path = "/triggers", tag = "triggers", request_body = TriggerIn, responses((status = 201, description = "Created; `Location` names it", body = Data<TriggerOut>)))]
async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    Json(input): Json<TriggerIn>,
) -> Result<impl IntoResponse> {
    let settings = input::settings(input, None, &state.cipher)?;
    // 192 random bits: nobody finds the URL by guessing.
    let slug = random_text(24);
    let trigger = state
        .store
        .create_trigger(&settings, &caller.id, &slug)
        .await?;
    let location = format!("/api/triggers/{}", trigger.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Data {
            data: trigger_out(trigger, &caller, &headers),
        }),
    ))
}

#[utoipa::path(get, operation_id = "list_triggers", path = "/triggers", tag = "triggers", params(PageQuery), responses((status = 200, description = "A page of triggers, oldest first", body = List<TriggerOut>)))]
async fn list(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<TriggerOut>>> {
    let page = query.page(&state.cipher, "triggers")?;
    let triggers = state
        .store
        .triggers(page.after_created(), page.fetch())
        .await?;
    let (triggers, next_cursor) =
        page.finish(&state.cipher, triggers, |t| created(t.created_at, &t.id));
    Ok(Json(List {
        data: triggers
            .into_iter()
            .map(|t| trigger_out(t, &caller, &headers))
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, operation_id = "get_trigger", path = "/triggers/{id}", tag = "triggers", params(("id" = String, Path, description = "The trigger")), responses((status = 200, description = "The trigger", body = Data<TriggerOut>)))]
async fn show(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Data<TriggerOut>>> {
    let trigger = find(&state, &id).await?;
    Ok(Json(Data {
        data: trigger_out(trigger, &caller, &headers),
    }))
}

/// `PATCH /api/triggers/{id}`: any subset of the writable fields; 204.
#[utoipa::path(patch, operation_id = "update_trigger", path = "/triggers/{id}", tag = "triggers", params(("id" = String, Path, description = "The trigger")), request_body = TriggerIn, responses((status = 204, description = "Changed")))]
async fn update(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    Json(input): Json<TriggerIn>,
) -> Result<StatusCode> {
    let trigger = find(&state, &id).await?;
    let settings = input::settings(input, Some(&trigger.settings), &state.cipher)?;
    if !state.store.update_trigger(&id, &settings).await? {
        return Err(AppError::NotFound("trigger"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, operation_id = "delete_trigger", path = "/triggers/{id}", tag = "triggers", params(("id" = String, Path, description = "The trigger")), responses((status = 204, description = "Deleted")))]
async fn remove(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    if !state.store.delete_trigger(&id).await? {
        return Err(AppError::NotFound("trigger"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/triggers/{id}/token`: a new bearer token, shown this once; the
/// previous one stops working. 409 unless the trigger uses bearer auth.
#[utoipa::path(post, operation_id = "generate_trigger_token", path = "/triggers/{id}/token", tag = "triggers", params(("id" = String, Path, description = "The trigger")), responses((status = 200, description = "A new bearer token, shown this once", body = Data<TokenOut>)))]
async fn token(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<Json<Data<TokenOut>>> {
    let trigger = find(&state, &id).await?;
    if !matches!(trigger.settings.auth, TriggerAuth::Bearer { .. }) {
        return Err(AppError::Conflict(
            "set the trigger's auth to bearer first".into(),
        ));
    }
    let token = format!("hht_{}", random_text(32));
    if !state
        .store
        .set_trigger_token(&id, TokenHash::of(&token))
        .await?
    {
        return Err(AppError::Conflict(
            "set the trigger's auth to bearer first".into(),
        ));
    }
    Ok(Json(Data {
        data: TokenOut { token },
    }))
}

/// What a call of a trigger URL came to, as the call log says it.
pub(in crate::http) const OUTCOMES: [&str; 6] = [
    "accepted",
    "unauthorized",
    "method_not_allowed",
    "invalid",
    "throttled",
    "too_large",
];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CallsQuery {
    /// Only the calls that came to this: `accepted`, `unauthorized`,
    /// `method_not_allowed`, `invalid`, `throttled` or `too_large`.
    outcome: Option<String>,
    /// 1 to 1,000 entries per page; 100 if left out.
    limit: Option<u32>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// `GET /api/triggers/{id}/calls`: a page of the call log, newest first.
#[utoipa::path(get, operation_id = "list_trigger_calls", path = "/triggers/{id}/calls", tag = "triggers", params(("id" = String, Path, description = "The trigger"), CallsQuery), responses((status = 200, description = "A page of the calls, newest first", body = List<TriggerCallOut>)))]
async fn calls(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    Query(query): Query<CallsQuery>,
) -> Result<Json<List<TriggerCallOut>>> {
    let outcome = query.outcome.filter(|o| !o.is_empty());
    if outcome.as_deref().is_some_and(|o| !OUTCOMES.contains(&o)) {
        return Err(AppError::field(
            "outcome",
            format!("must be one of {}", OUTCOMES.join(", ")),
        ));
    }
    let page = Page::read(
        &state.cipher,
        "trigger calls",
        query.limit,
        query.cursor.as_deref(),
        100,
    )?;
    find(&state, &id).await?;
    let before = page.after.as_deref().and_then(|id| id.parse().ok());
    let calls = state
        .store
        .trigger_calls(&id, outcome.as_deref(), before, page.fetch())
        .await?;
    let (calls, next_cursor) = page.finish(&state.cipher, calls, |call| call.id.to_string());
    Ok(Json(List {
        data: calls.into_iter().map(call_out).collect(),
        next_cursor,
    }))
}

fn call_out(call: TriggerCall) -> TriggerCallOut {
    TriggerCallOut {
        called_at: rfc3339(call.called_at),
        count: call.count,
        last_called_at: call.last_called_at.map(rfc3339),
        caller: call.caller,
        outcome: call.outcome,
        status_code: call.status_code,
        event_id: call.event_id,
        reason: call.reason,
    }
}

async fn find(state: &AppState, id: &str) -> Result<Trigger> {
    state
        .store
        .trigger(id)
        .await?
        .ok_or(AppError::NotFound("trigger"))
}

/// Where this server is reached, as the caller of the API sees it.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

fn trigger_out(trigger: Trigger, caller: &Caller, headers: &HeaderMap) -> TriggerOut {
    let settings = trigger.settings;
    let auth = match settings.auth {
        TriggerAuth::None => TriggerAuthOut::None,
        TriggerAuth::Basic { username, .. } => TriggerAuthOut::Basic {
            username,
            password_set: true,
        },
        TriggerAuth::Bearer { token } => TriggerAuthOut::Bearer {
            token_set: token.is_some(),
        },
        TriggerAuth::Signature { scheme, .. } => signature_out(scheme),
    };
    TriggerOut {
        hook_url: format!("{}/hooks/{}", base_url(headers), trigger.slug),
        id: trigger.id,
        content_type: "trigger".into(),
        name: settings.name,
        method: settings.method.into(),
        params: settings.params,
        auth,
        event_type: settings.event_type,
        response: settings.response.into(),
        author: Author {
            id: trigger.author_id,
            name: trigger.author_name,
        },
        permissions: Permissions {
            edit: caller.is_admin(),
            delete: caller.is_admin(),
        },
        created_at: rfc3339(trigger.created_at),
        updated_at: rfc3339(trigger.updated_at),
    }
}

/// A signed trigger's auth as the API shows it: the scheme, never the secret.
fn signature_out(scheme: Scheme) -> TriggerAuthOut {
    let (scheme, header, algorithm, encoding) = match scheme {
        Scheme::Github => (SignatureScheme::Github, None, None, None),
        Scheme::Stripe => (SignatureScheme::Stripe, None, None, None),
        Scheme::Shopify => (SignatureScheme::Shopify, None, None, None),
        Scheme::Standard => (SignatureScheme::Standard, None, None, None),
        Scheme::Hmac {
            header,
            algorithm,
            encoding,
        } => (
            SignatureScheme::Hmac,
            Some(header),
            Some(match algorithm {
                Algorithm::Sha256 => HmacAlgorithm::Sha256,
                Algorithm::Sha1 => HmacAlgorithm::Sha1,
            }),
            Some(match encoding {
                Encoding::Hex => HmacEncoding::Hex,
                Encoding::Base64 => HmacEncoding::Base64,
            }),
        ),
    };
    TriggerAuthOut::Signature {
        scheme,
        header,
        algorithm,
        encoding,
        secret_set: true,
    }
}
