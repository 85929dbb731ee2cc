//! Events in, deliveries out: every event is written with one delivery per
//! matching active webhook in the same transaction (`store::outbox`), and
//! answered once committed (PostgreSQL's commit waits for its log on disk).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::{PgConnection, Row};
use tokio::sync::{Notify, mpsc};

use super::{PostgresStore, announce_due};
use crate::model::EventAccepted;
use crate::store::outbox::{Enqueued, delivery_rows, plan};
use crate::store::{EventStore, Job, NewEvent, WorkerRoom};

/// Writes `events` and their deliveries inside the caller's transaction, in
/// two statements however many there are, and announces the deliveries.
pub(super) async fn enqueue(
    tx: &mut PgConnection,
    events: &[NewEvent],
) -> anyhow::Result<Vec<Enqueued>> {
    let webhooks: Vec<(String, Vec<String>)> =
        sqlx::query("SELECT id, events FROM webhooks WHERE active")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|row| {
                let patterns = serde_json::from_str(row.get("events")).context("webhook events")?;
                Ok((row.get("id"), patterns))
            })
            .collect::<anyhow::Result<_>>()?;
    let events: Vec<&NewEvent> = events.iter().collect();
    let (rows, enqueued) = plan(&webhooks, &events, &mut |_, _| None)?;
    let Some(now) = enqueued.first().map(|event| event.created_at) else {
        return Ok(enqueued);
    };
    sqlx::query(
        "INSERT INTO events (id, type, data, changed_fields, previous, created_at)
         SELECT id, type, data, changed_fields, previous, $6
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
             AS v(id, type, data, changed_fields, previous)",
    )
    .bind(
        enqueued
            .iter()
            .map(|e| e.event_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|e| e.event_type).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.data.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|e| e.changed_fields.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|e| e.previous.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("inserting events")?;
    let deliveries = delivery_rows(&rows, &enqueued);
    if !deliveries.is_empty() {
        sqlx::query(
            "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, next_attempt_at,
                 created_at, updated_at)
             SELECT id, webhook_id, event_id, event_type, 'pending', $5, $5, $5
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
                 AS v(id, webhook_id, event_id, event_type)",
        )
        .bind(deliveries.iter().map(|d| d.id).collect::<Vec<_>>())
        .bind(deliveries.iter().map(|d| d.webhook_id).collect::<Vec<_>>())
        .bind(deliveries.iter().map(|d| d.event_id).collect::<Vec<_>>())
        .bind(deliveries.iter().map(|d| d.event_type).collect::<Vec<_>>())
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("inserting deliveries")?;
        announce_due(tx).await?;
    }
    Ok(enqueued)
}

#[async_trait::async_trait]
impl EventStore for PostgresStore {
    async fn publish(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<EventAccepted>> {
        let mut tx = self.pool.begin().await?;
        let enqueued = enqueue(&mut tx, &events).await?;
        tx.commit().await.context("committing events")?;
        Ok(enqueued.iter().map(Enqueued::accepted).collect())
    }

    /// None: any instance's workers may take a delivery, and they claim it
    /// from the queue once woken (`wake_on_commits`).
    fn take_fresh_deliveries(
        &self,
        _lease: Duration,
        _room: Arc<dyn WorkerRoom>,
    ) -> mpsc::UnboundedReceiver<Vec<Job>> {
        mpsc::unbounded_channel().1
    }

    fn wake_on_commits(&self, wake: Arc<Notify>) {
        tokio::spawn(Self::listen(self.listening.clone(), wake));
    }
}
