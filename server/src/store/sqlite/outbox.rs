//! Events in, deliveries out: every event is written with one delivery per
//! matching active webhook in the same transaction (`store::outbox`).

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{MAX_PARAMS, SqliteStore};
use crate::store::outbox::{
    Deferred, DeliveryColumns, Enqueued, EventColumns, Keyed, Leasing, Original, Subscriber,
    deferred_rows, delivery_rows, distinct_keys, plan,
};
use crate::store::rows::{DeferredRow, SELECT_DEFERRED, SELECT_SUBSCRIBERS, SubscriberRow};
use crate::store::{IDEMPOTENCY_WINDOW_MS, NewEvent};
use crate::time::now_ms;

/// The webhooks events may go to now.
pub(super) async fn subscribers(
    connection: &mut SqliteConnection,
) -> anyhow::Result<Vec<Subscriber>> {
    let rows: Vec<SubscriberRow> = sqlx::query_as(SELECT_SUBSCRIBERS)
        .fetch_all(&mut *connection)
        .await?;
    rows.into_iter().map(Subscriber::try_from).collect()
}

/// Writes `events` and their deliveries on `connection`, inside the caller's transaction.
pub(super) async fn enqueue(
    connection: &mut SqliteConnection,
    events: &[NewEvent],
) -> anyhow::Result<Vec<Enqueued>> {
    let webhooks = subscribers(connection).await?;
    let events: Vec<&NewEvent> = events.iter().collect();
    write_events(connection, &webhooks, &events, &mut |_, _| None).await
}

/// Writes `events` with one delivery per subscribed webhook, in multi-row
/// statements; each delivery leased until what `lease` says.
pub(super) async fn write_events(
    connection: &mut SqliteConnection,
    webhooks: &[Subscriber],
    events: &[&NewEvent],
    lease: &mut Leasing<'_>,
) -> anyhow::Result<Vec<Enqueued>> {
    let taken = claim_keys(connection, &distinct_keys(events)).await?;
    let keyed = Keyed::new(events, &taken);
    let (rows, enqueued) = plan(webhooks, &keyed.fresh, lease)?;
    insert_events(connection, &rows, &enqueued).await?;
    for (key, event_id, deliveries) in keyed.claimed(&enqueued) {
        sqlx::query(
            "UPDATE idempotency_keys SET event_id = ?, deliveries = ? WHERE idempotency_key = ?",
        )
        .bind(event_id)
        .bind(deliveries as i64)
        .bind(key)
        .execute(&mut *connection)
        .await?;
    }
    Ok(keyed.answers(enqueued))
}

/// Claims each key for this transaction, unless it names an event accepted
/// within the window: returns those that do, with their events.
async fn claim_keys(
    connection: &mut SqliteConnection,
    keys: &[&str],
) -> anyhow::Result<HashMap<String, Original>> {
    let now = now_ms();
    let mut taken = HashMap::new();
    for &key in keys {
        let claimed: Option<String> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (idempotency_key, event_id, deliveries, created_at)
             VALUES (?, '', 0, ?)
             ON CONFLICT (idempotency_key) DO UPDATE
                 SET event_id = '', deliveries = 0, created_at = excluded.created_at
                 WHERE idempotency_keys.created_at < ?
             RETURNING idempotency_key",
        )
        .bind(key)
        .bind(now)
        .bind(now - IDEMPOTENCY_WINDOW_MS)
        .fetch_optional(&mut *connection)
        .await?;
        if claimed.is_none() {
            let (event_id, deliveries): (String, i64) = sqlx::query_as(
                "SELECT event_id, deliveries FROM idempotency_keys WHERE idempotency_key = ?",
            )
            .bind(key)
            .fetch_one(&mut *connection)
            .await?;
            let deliveries = deliveries as usize;
            taken.insert(
                key.to_string(),
                Original {
                    event_id,
                    deliveries,
                },
            );
        }
    }
    Ok(taken)
}

/// Writes planned events and their deliveries, in multi-row statements.
async fn insert_events(
    connection: &mut SqliteConnection,
    rows: &[EventColumns<'_>],
    enqueued: &[Enqueued],
) -> anyhow::Result<()> {
    let Some(now) = enqueued.first().map(|event| event.created_at) else {
        return Ok(());
    };
    let numbered: Vec<_> = rows.iter().zip(enqueued).collect();
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
    let deferred: Vec<&Enqueued> = enqueued.iter().filter(|e| e.deferred > 0).collect();
    for chunk in deferred.chunks(MAX_PARAMS / 2) {
        let mut query = QueryBuilder::<Sqlite>::new("INSERT INTO fanouts (event_id, created_at) ");
        query.push_values(chunk, |mut row, event| {
            row.push_bind(&event.event_id).push_bind(now);
        });
        query.build().execute(&mut *connection).await?;
    }
    insert_deliveries(connection, &delivery_rows(rows, enqueued, now), now).await
}

/// Writes delivery rows, in multi-row statements.
pub(super) async fn insert_deliveries(
    connection: &mut SqliteConnection,
    deliveries: &[DeliveryColumns<'_>],
    now: i64,
) -> anyhow::Result<()> {
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
                .push_bind(delivery.status)
                .push_bind(delivery.next_attempt_at)
                .push_bind(delivery.lease_until)
                .push_bind(now)
                .push_bind(now);
        });
        query.build().execute(&mut *connection).await?;
    }
    Ok(())
}

/// Events fanned out in one transaction at most.
const FANOUT_EVENTS: i64 = 1000;

/// `EventStore::fan_out`: the deliveries of deferred events, oldest first,
/// each event's in the transaction that removes its `fanouts` row.
pub(super) async fn fan_out(store: &SqliteStore, at_most: usize) -> anyhow::Result<usize> {
    let waiting: Vec<DeferredRow> = sqlx::query_as(&format!(
        "{SELECT_DEFERRED} ORDER BY f.created_at, f.event_id LIMIT ?"
    ))
    .bind(FANOUT_EVENTS)
    .fetch_all(&store.reader)
    .await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let mut tx = store.writer.begin().await?;
    let webhooks = subscribers(&mut tx).await?;
    let now = now_ms();
    let (mut events, mut written) = (0, 0);
    for event in waiting.into_iter().map(Deferred::from) {
        let mut ids = Vec::new();
        let rows = deferred_rows(&webhooks, &event, &mut ids);
        if events > 0 && written + rows.len() > at_most {
            break;
        }
        let taken = sqlx::query("DELETE FROM fanouts WHERE event_id = ?")
            .bind(&event.event_id)
            .execute(&mut *tx)
            .await?;
        if taken.rows_affected() == 1 {
            insert_deliveries(&mut tx, &rows, now).await?;
            written += rows.len();
        }
        events += 1;
    }
    tx.commit().await?;
    if written > 0 {
        store.fresh.wake_workers();
    }
    Ok(events)
}
