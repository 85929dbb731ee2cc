//! Events in, deliveries out: every event is written with one delivery per
//! matching active webhook in the same transaction (`store::outbox`), and
//! answered once committed (PostgreSQL's commit waits for its log on disk).
//! Published deliveries go straight to this instance's workers while they
//! have room; the rest are announced to every instance.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::{PgConnection, Row};
use tokio::sync::{Notify, mpsc};

use super::{PostgresStore, announce_due};
use crate::model::EventAccepted;
use crate::store::outbox::{Enqueued, Lease, Reservation, delivery_rows, plan};
use crate::store::{EventStore, Job, NewEvent, QueueStore, WorkerRoom};

/// Writes `events` and their deliveries inside the caller's transaction, in
/// two statements however many there are, and announces the deliveries.
pub(super) async fn enqueue(
    tx: &mut PgConnection,
    events: &[NewEvent],
) -> anyhow::Result<Vec<Enqueued>> {
    write_events(tx, events, &mut |_, _| None).await
}

/// `enqueue`, each delivery leased until what `lease` says; announces those
/// left unleased, which any instance may take.
async fn write_events(
    tx: &mut PgConnection,
    events: &[NewEvent],
    lease: &mut Lease<'_>,
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
    let (rows, enqueued) = plan(&webhooks, &events, lease)?;
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
                 lease_until, created_at, updated_at)
             SELECT id, webhook_id, event_id, event_type, 'pending', $6, lease_until, $6, $6
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[])
                 AS v(id, webhook_id, event_id, event_type, lease_until)",
        )
        .bind(deliveries.iter().map(|d| d.id).collect::<Vec<_>>())
        .bind(deliveries.iter().map(|d| d.webhook_id).collect::<Vec<_>>())
        .bind(deliveries.iter().map(|d| d.event_id).collect::<Vec<_>>())
        .bind(deliveries.iter().map(|d| d.event_type).collect::<Vec<_>>())
        .bind(deliveries.iter().map(|d| d.lease_until).collect::<Vec<_>>())
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("inserting deliveries")?;
        if enqueued.iter().any(Enqueued::waits_in_outbox) {
            announce_due(tx).await?;
        }
    }
    Ok(enqueued)
}

#[async_trait::async_trait]
impl EventStore for PostgresStore {
    async fn publish(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<EventAccepted>> {
        let mut reservation = Reservation::new(&self.fresh);
        let committed = async {
            let mut tx = self.pool.begin().await?;
            let mut lease = |webhook_id: &str, bytes: usize| reservation.lease(webhook_id, bytes);
            let enqueued = write_events(&mut tx, &events, &mut lease).await?;
            tx.commit().await.context("committing events")?;
            anyhow::Ok(enqueued)
        }
        .await;
        let enqueued = match committed {
            Ok(enqueued) => enqueued,
            Err(error) => {
                reservation.give_back();
                return Err(error);
            }
        };
        let accepted = enqueued.iter().map(Enqueued::accepted).collect();
        let unsent = reservation.hand_over(events, &enqueued);
        if !unsent.is_empty() {
            // The workers stopped meanwhile: the deliveries go back to the queue.
            self.release(&unsent).await?;
        }
        Ok(accepted)
    }

    fn take_fresh_deliveries(
        &self,
        lease: Duration,
        room: Arc<dyn WorkerRoom>,
    ) -> mpsc::UnboundedReceiver<Vec<Job>> {
        self.fresh.take(lease, room)
    }

    fn wake_on_commits(&self, wake: Arc<Notify>) {
        tokio::spawn(Self::listen(self.listening.clone(), wake));
    }
}
