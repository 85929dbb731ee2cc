//! How a webhook is doing, and `GET /api/deliveries/webhooks`: every
//! webhook by name and health, for whoever may read the logs.

use std::collections::HashMap;
use std::time::Duration;

use api::{HealthState, List, WebhookHealth, WebhookSummary};
use axum::extract::State;

use crate::error::Result;
use crate::http::AppState;
use crate::http::json::Json;
use crate::http::paging::{PageQuery, created};
use crate::http::params::Query;
use crate::store::{Caller, Webhook};
use crate::time::{now_ms, rfc3339};

/// The window `health.success_rate` looks at.
const HEALTH_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The share of attempts that succeeded in the last 24 hours, of one webhook or every one.
pub(super) async fn success_rates(
    state: &AppState,
    webhook_id: Option<&str>,
) -> Result<HashMap<String, f64>> {
    let since = now_ms() - HEALTH_WINDOW.as_millis() as i64;
    let totals = state.store.attempt_totals(since, webhook_id).await?;
    Ok(totals
        .into_iter()
        .filter(|(_, (_, total))| *total > 0)
        .map(|(id, (succeeded, total))| (id, succeeded as f64 / total as f64))
        .collect())
}

/// A webhook's health, given its recent success rate and its paused deliveries.
pub(super) fn health(
    webhook: &Webhook,
    success_rate: Option<f64>,
    paused_deliveries: u64,
) -> WebhookHealth {
    WebhookHealth {
        state: HealthState::of(
            webhook.settings.active,
            webhook.last_attempt_at.is_some(),
            webhook.consecutive_failures,
        ),
        success_rate,
        consecutive_failures: webhook.consecutive_failures,
        disabled_reason: webhook.disabled_reason.clone(),
        disabled_at: webhook.disabled_at.map(rfc3339),
        last_attempt_at: webhook.last_attempt_at.map(rfc3339),
        last_error: webhook.last_error.clone(),
        paused_deliveries,
        next_probe_at: webhook.next_probe_at.map(rfc3339),
    }
}

/// A page of webhooks, oldest first, each with its health; `list` names the
/// list its cursors belong to.
pub(super) async fn page_with_health(
    state: &AppState,
    query: PageQuery,
    list: &'static str,
) -> Result<(Vec<(Webhook, WebhookHealth)>, Option<String>)> {
    let page = query.page(&state.cipher, list)?;
    let webhooks = state
        .store
        .webhooks(page.after_created(), page.fetch())
        .await?;
    let (webhooks, next_cursor) =
        page.finish(&state.cipher, webhooks, |w| created(w.created_at, &w.id));
    let rates = success_rates(state, None).await?;
    let paused = state.store.paused_deliveries(None).await?;
    let with_health = webhooks
        .into_iter()
        .map(|webhook| {
            let rate = rates.get(&webhook.id).copied();
            let paused = paused.get(&webhook.id).copied().unwrap_or(0);
            let health = health(&webhook, rate, paused);
            (webhook, health)
        })
        .collect();
    Ok((with_health, next_cursor))
}

/// `GET /api/deliveries/webhooks`: a page of webhooks, oldest first, as
/// every reader of the logs may see them (viewers narrow the logs by them
/// and see how each is doing): name and health, not URL or credentials.
#[utoipa::path(get, operation_id = "list_delivery_webhooks", path = "/deliveries/webhooks", tag = "deliveries", params(PageQuery), responses((status = 200, description = "A page of webhooks by name and health, oldest first", body = List<WebhookSummary>)))]
pub(super) async fn summaries(
    State(state): State<AppState>,
    _: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<WebhookSummary>>> {
    let (webhooks, next_cursor) = page_with_health(&state, query, "delivery webhooks").await?;
    Ok(Json(List {
        data: webhooks
            .into_iter()
            .map(|(webhook, health)| WebhookSummary {
                id: webhook.id,
                name: webhook.settings.name,
                active: webhook.settings.active,
                health,
            })
            .collect(),
        next_cursor,
    }))
}
