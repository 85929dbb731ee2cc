//! What an administrator does with a webhook beyond editing it: Test, Recover, preview.

use api::{AttemptOut, Data, PreviewIn, PreviewOut, RecoverIn, RecoverOut};
use axum::extract::State;
use axum::http::StatusCode;

use super::{find, input};
use crate::delivery::preview::sample_event;
use crate::error::{AppError, Result};
use crate::events::payload;
use crate::filter::Filter;
use crate::http::json::Json;
use crate::http::params::Path;
use crate::http::{Admin, AppState, parse_time};
use crate::time::now_ms;

/// `POST /api/webhooks/{id}/test`: sends a `webhook.test` event now, even to
/// an inactive webhook, and answers with the attempt.
#[utoipa::path(post, operation_id = "test_webhook", path = "/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path, description = "The webhook")), responses((status = 200, description = "The attempt, made at once", body = Data<AttemptOut>)))]
pub(super) async fn test(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<Json<Data<AttemptOut>>> {
    find(&state, &id).await?;
    let attempt = state.deliverer.test(&id).await?;
    Ok(Json(Data {
        data: crate::http::deliveries::attempt_out(&attempt, state.config.delivery_timeout),
    }))
}

/// `POST /api/webhooks/{id}/recover`: every delivery that failed in the window
/// gets one more attempt now; 202 with how many.
#[utoipa::path(post, operation_id = "recover_webhook", path = "/webhooks/{id}/recover", tag = "webhooks", params(("id" = String, Path, description = "The webhook")), request_body = RecoverIn, responses((status = 202, description = "How many failed deliveries were queued again", body = Data<RecoverOut>)))]
pub(super) async fn recover(
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
/// produce with these settings, and whether their filter takes it, without
/// saving anything.
#[utoipa::path(post, operation_id = "preview_webhook", path = "/webhooks/preview", tag = "webhooks", request_body = PreviewIn, responses((status = 200, description = "The request a sample event would make", body = Data<PreviewOut>), (status = 404, description = "No webhook `id`", body = api::ErrorBody)))]
pub(super) async fn preview(
    State(state): State<AppState>,
    Admin(_): Admin,
    Json(input): Json<PreviewIn>,
) -> Result<Json<Data<PreviewOut>>> {
    let existing = match &input.id {
        Some(id) => Some(find(&state, id).await?),
        None => None,
    };
    let url_given = input.webhook.url.is_some();
    let settings = input::settings(
        input.webhook,
        existing.as_ref().map(|w| &w.settings),
        &state.cipher,
    )?;
    if url_given {
        super::crud::refuse_private_address(&state, &settings.url)?;
    }
    let request = state
        .deliverer
        .preview(&settings, input.id.as_deref())
        .await?;
    // Checked by `input::settings`: it compiles.
    let filter_matches = match &settings.filter {
        Some(filter) => {
            let sample = sample_event(&settings.events, now_ms());
            Some(
                Filter::compile(filter).is_ok_and(|filter| filter.matches(&payload(&sample, None))),
            )
        }
        None => None,
    };
    Ok(Json(Data {
        data: PreviewOut {
            request: request.into(),
            filter_matches,
        },
    }))
}
