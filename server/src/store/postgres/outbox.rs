//! Events in on PostgreSQL: many rows written with arrays, one statement
//! text whatever their count; concurrent publications share a transaction
//! (group commit; each 202 only after PostgreSQL's commit waited for its
//! log on disk). Published deliveries go straight to this instance's
//! workers while they have room; the rest are announced to every instance.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::{PgConnection, PgPool, Row};
use tokio::sync::{Notify, mpsc};

use super::PostgresStore;
use super::sql::{subscribers, write_events};
use crate::model::EventAccepted;
use crate::store::dialect::Bulk;
use crate::store::outbox::{
    DeliveryColumns, Enqueued, EventColumns, FreshDeliveries, Original, Publication, Reservation,
};
use crate::store::{EventStore, IDEMPOTENCY_WINDOW_MS, Job, Lease, NewEvent, WorkerRoom};
use crate::time::now_ms;

#[async_trait::async_trait]
impl Bulk for PostgresStore {
    /// Claims each key for this transaction, unless it names an event accepted
    /// within the window: returns those that do, with their events. A key that
    /// another transaction is claiming waits for it to end; keys are claimed in
    /// sorted order, so two transactions cannot wait for each other.
    async fn claim_keys(
        tx: &mut PgConnection,
        keys: &[&str],
    ) -> anyhow::Result<HashMap<String, Original>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        let now = now_ms();
        let claimed: Vec<String> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (idempotency_key, event_id, deliveries, created_at)
             SELECT k, '', 0, $2 FROM UNNEST($1::text[]) WITH ORDINALITY AS v(k, n) ORDER BY n
             ON CONFLICT (idempotency_key) DO UPDATE
                 SET event_id = '', deliveries = 0, created_at = EXCLUDED.created_at
                 WHERE idempotency_keys.created_at < $3
             RETURNING idempotency_key",
        )
        .bind(&sorted)
        .bind(now)
        .bind(now - IDEMPOTENCY_WINDOW_MS)
        .fetch_all(&mut *tx)
        .await
        .context("claiming idempotency keys")?;
        let rest: Vec<&str> = sorted
            .into_iter()
            .filter(|key| !claimed.iter().any(|c| c == key))
            .collect();
        if rest.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(
            "SELECT idempotency_key, event_id, deliveries FROM idempotency_keys
             WHERE idempotency_key = ANY($1)",
        )
        .bind(&rest)
        .fetch_all(&mut *tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let original = Original {
                    event_id: row.get("event_id"),
                    deliveries: row.get::<i32, _>("deliveries") as usize,
                };
                (row.get("idempotency_key"), original)
            })
            .collect())
    }

    async fn name_keys(
        tx: &mut PgConnection,
        claimed: &[(&str, &str, usize)],
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys k SET event_id = v.event_id, deliveries = v.deliveries
             FROM UNNEST($1::text[], $2::text[], $3::int4[]) AS v(idempotency_key, event_id, deliveries)
             WHERE k.idempotency_key = v.idempotency_key",
        )
        .bind(claimed.iter().map(|c| c.0).collect::<Vec<_>>())
        .bind(claimed.iter().map(|c| c.1).collect::<Vec<_>>())
        .bind(claimed.iter().map(|c| c.2 as i32).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Writes planned events in one statement however many there are (and
    /// the `fanouts` rows of deferred ones in another).
    async fn insert_events(
        tx: &mut PgConnection,
        rows: &[EventColumns<'_>],
        enqueued: &[Enqueued],
    ) -> anyhow::Result<()> {
        let Some(now) = enqueued.first().map(|event| event.created_at) else {
            return Ok(());
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
        let deferred: Vec<_> = rows
            .iter()
            .zip(enqueued)
            .filter(|(_, e)| e.deferred > 0)
            .collect();
        if !deferred.is_empty() {
            sqlx::query(
                "INSERT INTO fanouts (event_id, created_at, ordering_key, key_seq)
                 SELECT id, $2, ordering_key, key_seq
                 FROM UNNEST($1::text[], $3::text[], $4::int8[]) AS v(id, ordering_key, key_seq)",
            )
            .bind(
                deferred
                    .iter()
                    .map(|(_, e)| e.event_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(now)
            .bind(
                deferred
                    .iter()
                    .map(|(row, _)| row.ordering_key)
                    .collect::<Vec<_>>(),
            )
            .bind(
                deferred
                    .iter()
                    .map(|(row, _)| row.key_seq)
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *tx)
            .await
            .context("deferring deliveries")?;
        }
        Ok(())
    }

    /// Writes delivery rows in one statement.
    async fn insert_deliveries(
        tx: &mut PgConnection,
        deliveries: &[DeliveryColumns<'_>],
        now: i64,
    ) -> anyhow::Result<()> {
        if !deliveries.is_empty() {
            sqlx::query(
                "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, next_attempt_at,
                     lease_until, ordering_key, key_seq, created_at, updated_at)
                 SELECT id, webhook_id, event_id, event_type, status, next_attempt_at, lease_until,
                     ordering_key, key_seq, $8, $8
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[],
                     $7::int8[], $9::text[], $10::int8[])
                     AS v(id, webhook_id, event_id, event_type, status, next_attempt_at, lease_until,
                         ordering_key, key_seq)",
            )
            .bind(deliveries.iter().map(|d| d.id).collect::<Vec<_>>())
            .bind(deliveries.iter().map(|d| d.webhook_id).collect::<Vec<_>>())
            .bind(deliveries.iter().map(|d| d.event_id).collect::<Vec<_>>())
            .bind(deliveries.iter().map(|d| d.event_type).collect::<Vec<_>>())
            .bind(deliveries.iter().map(|d| d.status).collect::<Vec<_>>())
            .bind(
                deliveries
                    .iter()
                    .map(|d| d.next_attempt_at)
                    .collect::<Vec<_>>(),
            )
            .bind(deliveries.iter().map(|d| d.lease_until).collect::<Vec<_>>())
            .bind(now)
            .bind(deliveries.iter().map(|d| d.ordering_key).collect::<Vec<_>>())
            .bind(deliveries.iter().map(|d| d.key_seq).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .context("inserting deliveries")?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl EventStore for PostgresStore {
    async fn fan_out(&self, at_most: usize) -> anyhow::Result<usize> {
        self.fan_out_deferred(at_most).await
    }

    async fn publish(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<EventAccepted>> {
        Publication::send(&self.publisher, events).await
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

/// Requests sharing one transaction at most.
const GROUP: usize = 64;

/// Transactions publishing at once, each taking the requests that wait when
/// it starts: while one waits for PostgreSQL to flush its commit, the next
/// gathers the requests that came meanwhile.
pub(super) const COMMITTERS: usize = 2;

/// Group commit, as on SQLite: the requests waiting when a transaction
/// starts share it (one commit and one flush of PostgreSQL's log, its
/// statements written once for all their events), and each is answered
/// once the commit is durable. Runs until the store is dropped.
pub(super) async fn commit_groups(
    pool: PgPool,
    bookkeeping: PgPool,
    fresh: FreshDeliveries,
    requests: Arc<tokio::sync::Mutex<mpsc::Receiver<Publication>>>,
) {
    let mut group = Vec::with_capacity(GROUP);
    loop {
        if requests.lock().await.recv_many(&mut group, GROUP).await == 0 {
            return;
        }
        let (events, answers): (Vec<Vec<NewEvent>>, Vec<_>) = group
            .drain(..)
            .map(|publication| (publication.events, publication.done))
            .unzip();
        let counts: Vec<usize> = events.iter().map(Vec::len).collect();
        let events: Vec<NewEvent> = events.into_iter().flatten().collect();
        match commit_group(&pool, &fresh, events).await {
            Ok((enqueued, unsent)) => {
                let mut accepted = enqueued.iter().map(Enqueued::accepted);
                for (done, count) in answers.into_iter().zip(counts) {
                    let _ = done.send(Ok(accepted.by_ref().take(count).collect()));
                }
                if !unsent.is_empty()
                    && let Err(error) = super::queue::release(&bookkeeping, &unsent).await
                {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "handing back failed; the leases will run out"
                    );
                }
            }
            Err(error) => {
                let copy = crate::store::outage::copies_of(&error);
                for done in answers {
                    let _ = done.send(Err(copy()));
                }
            }
        }
    }
}

/// Writes `events` in one transaction; once committed, hands their leased
/// deliveries to this instance's workers. Returns what was written and the
/// leases of the deliveries the workers, stopped meanwhile, did not take.
async fn commit_group(
    pool: &PgPool,
    fresh: &FreshDeliveries,
    events: Vec<NewEvent>,
) -> anyhow::Result<(Vec<Enqueued>, Vec<Lease>)> {
    let mut reservation = Reservation::new(fresh);
    let committed = async {
        let mut tx = pool.begin().await?;
        let mut lease = |webhook_id: &str, bytes: usize| reservation.lease(webhook_id, bytes);
        let webhooks = subscribers(&mut tx).await?;
        let events: Vec<&NewEvent> = events.iter().collect();
        let enqueued = write_events(&mut tx, &webhooks, &events, &mut lease).await?;
        tx.commit().await.context("committing events")?;
        anyhow::Ok(enqueued)
    }
    .await;
    match committed {
        Ok(enqueued) => {
            let unsent = reservation.hand_over(events, &enqueued);
            Ok((enqueued, unsent))
        }
        Err(error) => {
            reservation.give_back();
            Err(error)
        }
    }
}
