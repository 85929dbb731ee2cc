//! Events in, deliveries out: every event is written with one delivery per
//! matching active webhook in the same transaction (`store::outbox`).

use anyhow::Context;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::MAX_PARAMS;
use crate::store::NewEvent;
use crate::store::outbox::{Enqueued, Lease, delivery_rows, plan};

/// The active webhooks and the event patterns they subscribe to.
pub(super) async fn active_webhooks(
    connection: &mut SqliteConnection,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    sqlx::query("SELECT id, events FROM webhooks WHERE active = 1")
        .fetch_all(&mut *connection)
        .await?
        .into_iter()
        .map(|row| {
            let patterns = serde_json::from_str(row.get("events")).context("webhook events")?;
            Ok((row.get("id"), patterns))
        })
        .collect()
}

/// Writes `events` and their deliveries on `connection`, inside the caller's transaction.
pub(super) async fn enqueue(
    connection: &mut SqliteConnection,
    events: &[NewEvent],
) -> anyhow::Result<Vec<Enqueued>> {
    let webhooks = active_webhooks(connection).await?;
    let events: Vec<&NewEvent> = events.iter().collect();
    write_events(connection, &webhooks, &events, &mut |_, _| None).await
}

/// Writes `events` with one delivery per subscribed webhook, in multi-row
/// statements; each delivery leased until what `lease` says.
pub(super) async fn write_events(
    connection: &mut SqliteConnection,
    webhooks: &[(String, Vec<String>)],
    events: &[&NewEvent],
    lease: &mut Lease<'_>,
) -> anyhow::Result<Vec<Enqueued>> {
    let (rows, enqueued) = plan(webhooks, events, lease)?;
    let Some(now) = enqueued.first().map(|event| event.created_at) else {
        return Ok(enqueued);
    };
    let numbered: Vec<_> = rows.iter().zip(&enqueued).collect();
    for chunk in numbered.chunks(MAX_PARAMS / 6) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (id, type, data, changed_fields, previous, created_at) ",
        );
        query.push_values(chunk, |mut row, (event, enqueued)| {
            row.push_bind(&enqueued.event_id)
                .push_bind(event.event_type)
                .push_bind(&event.data)
                .push_bind(&event.changed_fields)
                .push_bind(&event.previous)
                .push_bind(now);
        });
        query.build().execute(&mut *connection).await?;
    }
    let deliveries = delivery_rows(&rows, &enqueued);
    for chunk in deliveries.chunks(MAX_PARAMS / 9) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, next_attempt_at,
                 lease_until, created_at, updated_at) ",
        );
        query.push_values(chunk, |mut row, delivery| {
            row.push_bind(delivery.id)
                .push_bind(delivery.webhook_id)
                .push_bind(delivery.event_id)
                .push_bind(delivery.event_type)
                .push_bind("pending")
                .push_bind(now)
                .push_bind(delivery.lease_until)
                .push_bind(now)
                .push_bind(now);
        });
        query.build().execute(&mut *connection).await?;
    }
    Ok(enqueued)
}
