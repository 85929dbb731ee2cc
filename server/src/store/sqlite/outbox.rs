//! Events in, deliveries out: every event is written with one delivery per
//! matching active webhook in the same transaction (the transactional outbox),
//! so that an acknowledged event is never lost.

use anyhow::Context;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::MAX_PARAMS;
use crate::events::subscribed;
use crate::model::{EventAccepted, QueuedDelivery};
use crate::store::{NewEvent, new_id};
use crate::time::now_ms;

/// An event written to the outbox and the deliveries it queued.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub event_id: String,
    pub created_at: i64,
    pub deliveries: Vec<QueuedDelivery>,
    /// Beside each delivery: until when it is leased to this process's workers, if it is.
    pub(super) leases: Vec<Option<i64>>,
    /// The event's data as stored, in bytes.
    pub(super) bytes: usize,
}

impl Enqueued {
    pub fn accepted(&self) -> EventAccepted {
        EventAccepted {
            id: self.event_id.clone(),
            deliveries: self.deliveries.len(),
        }
    }
}

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

/// One delivery row to write.
struct NewDelivery<'a> {
    id: &'a str,
    webhook_id: &'a str,
    event_id: &'a str,
    event_type: &'a str,
    lease_until: Option<i64>,
}

/// Asked per delivery with its webhook and its event's size: until when the
/// delivery is leased to this process's workers, if it is.
pub(super) type Lease<'a> = dyn FnMut(&str, usize) -> Option<i64> + Send + 'a;

/// Writes `events` with one delivery per subscribed webhook, in multi-row
/// statements; each delivery leased until what `lease` says.
pub(super) async fn write_events(
    connection: &mut SqliteConnection,
    webhooks: &[(String, Vec<String>)],
    events: &[&NewEvent],
    lease: &mut Lease<'_>,
) -> anyhow::Result<Vec<Enqueued>> {
    let now = now_ms();
    let mut accepted = Vec::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let (changed_fields, previous) = match &event.change {
            Some((fields, previous)) => (
                Some(serde_json::to_string(fields)?),
                Some(serde_json::to_string(previous)?),
            ),
            None => (None, None),
        };
        let data = serde_json::to_string(&event.data)?;
        let bytes = data.len();
        let event_id = new_id("evt");
        let (deliveries, leases) = webhooks
            .iter()
            .filter(|(_, patterns)| subscribed(patterns, &event.event_type))
            .map(|(webhook_id, _)| {
                let delivery = QueuedDelivery {
                    id: new_id("dlv"),
                    webhook_id: webhook_id.clone(),
                };
                (delivery, lease(webhook_id, bytes))
            })
            .unzip();
        rows.push((data, changed_fields, previous));
        accepted.push(Enqueued {
            event_id,
            created_at: now,
            deliveries,
            leases,
            bytes,
        });
    }
    let numbered: Vec<_> = events.iter().zip(&accepted).zip(&rows).collect();
    for chunk in numbered.chunks(MAX_PARAMS / 6) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (id, type, data, changed_fields, previous, created_at) ",
        );
        query.push_values(
            chunk,
            |mut row, ((event, enqueued), (data, fields, previous))| {
                row.push_bind(&enqueued.event_id)
                    .push_bind(&event.event_type)
                    .push_bind(data)
                    .push_bind(fields)
                    .push_bind(previous)
                    .push_bind(now);
            },
        );
        query.build().execute(&mut *connection).await?;
    }
    let deliveries: Vec<NewDelivery> = events
        .iter()
        .zip(&accepted)
        .flat_map(|(event, enqueued)| {
            enqueued
                .deliveries
                .iter()
                .zip(&enqueued.leases)
                .map(|(delivery, lease_until)| NewDelivery {
                    id: &delivery.id,
                    webhook_id: &delivery.webhook_id,
                    event_id: &enqueued.event_id,
                    event_type: &event.event_type,
                    lease_until: *lease_until,
                })
        })
        .collect();
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
    Ok(accepted)
}
