//! Events in, deliveries out: every event is written with one delivery per
//! matching webhook in the same transaction (`store::outbox` plans them,
//! `Bulk` writes them), and the deliveries of events past what one
//! transaction writes are fanned out after, a slice at a time.

use anyhow::Context;
use sqlx::QueryBuilder;

use super::ordering::{self, Heads};
use super::{Backend, Db};
use crate::store::deliveries::rate_limit;
use crate::store::dialect::Bulk;
use crate::store::outbox::{
    Deferred, Enqueued, Keyed, Leasing, Placement, Subscriber, compiled, deferred_rows,
    delivery_rows, distinct_keys, plan, waiting_in,
};
use crate::store::{Dialect, NewEvent};
use crate::time::now_ms;

type Connection = <Db as sqlx::Database>::Connection;

/// Events fanned out in one transaction at most.
const FANOUT_EVENTS: i64 = 1000;

/// The webhooks events may go to now.
pub(in super::super) async fn subscribers(
    connection: &mut Connection,
) -> anyhow::Result<Vec<Subscriber>> {
    let rows: Vec<SubscriberRow> = sqlx::query_as(SELECT_SUBSCRIBERS)
        .fetch_all(&mut *connection)
        .await?;
    rows.into_iter().map(Subscriber::try_from).collect()
}

/// Writes `events` and their deliveries inside the caller's transaction.
pub(in super::super) async fn enqueue(
    connection: &mut Connection,
    events: &[NewEvent],
) -> anyhow::Result<Vec<Enqueued>> {
    let webhooks = subscribers(connection).await?;
    let events: Vec<&NewEvent> = events.iter().collect();
    write_events(connection, &webhooks, &events, &mut |_, _| None).await
}

/// Writes `events` with one delivery per subscribed webhook, each leased
/// until what `lease` says, or waiting for its turn in its ordering key;
/// announces those left unleased, which any instance may take.
pub(in super::super) async fn write_events(
    connection: &mut Connection,
    webhooks: &[Subscriber],
    events: &[&NewEvent],
    lease: &mut Leasing<'_>,
) -> anyhow::Result<Vec<Enqueued>> {
    let taken = Backend::claim_keys(connection, &distinct_keys(events)).await?;
    let keyed = Keyed::new(events, &taken);
    let places = ordering::places(connection, &keyed.fresh).await?;
    let (rows, enqueued) = plan(webhooks, &keyed.fresh, &places, lease)?;
    let now = enqueued.first().map_or(0, |event| event.created_at);
    let deliveries = delivery_rows(&rows, &enqueued, now);
    Backend::insert_events(connection, &rows, &enqueued).await?;
    Backend::insert_deliveries(connection, &deliveries, now).await?;
    let claimed = keyed.claimed(&enqueued);
    if !claimed.is_empty() {
        Backend::name_keys(connection, &claimed)
            .await
            .context("naming the events of idempotency keys")?;
    }
    let promoted = ordering::promote(connection, Heads::Of(&waiting_in(&deliveries))).await?;
    let due_unleased = enqueued
        .iter()
        .any(|event| event.placements.contains(&Placement::Due));
    if promoted > 0 || due_unleased {
        Backend::announce_due(connection).await?;
    }
    Ok(keyed.answers(enqueued))
}

impl Backend {
    /// `EventStore::fan_out`: the deliveries of deferred events, oldest
    /// first, at most `at_most` of them (but one event's at least), written
    /// with the removal of their events' `fanouts` rows. Instances fan out
    /// side by side, each taking events no other is taking.
    pub(in super::super) async fn fan_out_deferred(&self, at_most: usize) -> anyhow::Result<usize> {
        // Asked once a second while idle: a reader says there is nothing,
        // without a transaction on the writer.
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM fanouts)")
            .fetch_one(self.reader())
            .await?;
        if !any {
            return Ok(0);
        }
        let mut tx = self.writer().begin().await?;
        let waiting: Vec<DeferredRow> = sqlx::query_as(&format!(
            "{SELECT_DEFERRED} WHERE f.event_id IN (
                 SELECT event_id FROM fanouts ORDER BY created_at, event_id LIMIT $1{})
             ORDER BY f.created_at, f.event_id",
            Backend::CLAIM_ROWS
        ))
        .bind(FANOUT_EVENTS)
        .fetch_all(&mut *tx)
        .await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let webhooks = subscribers(&mut tx).await?;
        let waiting: Vec<Deferred> = waiting.into_iter().map(Deferred::from).collect();
        let mut ids = vec![Vec::new(); waiting.len()];
        let (mut chosen, mut planned) = (Vec::new(), 0);
        for (event, ids) in waiting.iter().zip(ids.iter_mut()) {
            let rows = deferred_rows(&webhooks, event, ids)?;
            if !chosen.is_empty() && planned + rows.len() > at_most {
                break;
            }
            planned += rows.len();
            chosen.push((event, rows));
        }
        let turns =
            ordering::turns(&mut tx, &chosen.iter().map(|(e, _)| *e).collect::<Vec<_>>()).await?;
        let (done, rows): (Vec<&str>, Vec<_>) = chosen
            .into_iter()
            .filter(|(event, _)| turns.come(event))
            .map(|(event, rows)| (event.event_id.as_str(), rows))
            .unzip();
        if done.is_empty() {
            // Each waits for an earlier event of its key, fanned out meanwhile elsewhere.
            return Ok(0);
        }
        let rows: Vec<_> = rows.into_iter().flatten().collect();
        Backend::insert_deliveries(&mut tx, &rows, now_ms()).await?;
        let mut query = QueryBuilder::<Db>::new("DELETE FROM fanouts WHERE event_id IN (");
        let mut list = query.separated(", ");
        for event_id in &done {
            list.push_bind(*event_id);
        }
        query.push(")");
        query.build().execute(&mut *tx).await?;
        let promoted = ordering::promote(&mut tx, Heads::Of(&waiting_in(&rows))).await?;
        let due = rows.iter().any(|row| row.next_attempt_at.is_some()) || promoted > 0;
        if due {
            Backend::announce_due(&mut tx).await?;
        }
        tx.commit().await?;
        if due {
            self.fresh.wake_workers();
        }
        Ok(done.len())
    }
}

/// The webhooks an event may go to: those on, and those hookhub switched
/// off (their deliveries wait, paused).
const SELECT_SUBSCRIBERS: &str =
    "SELECT id, events, NOT active AS paused, created_at, filter, rate_limit FROM webhooks
     WHERE active OR disabled_reason IS NOT NULL";

#[derive(sqlx::FromRow)]
struct SubscriberRow {
    id: String,
    events: String,
    paused: bool,
    created_at: i64,
    filter: Option<String>,
    rate_limit: Option<i64>,
}

impl TryFrom<SubscriberRow> for Subscriber {
    type Error = anyhow::Error;

    fn try_from(row: SubscriberRow) -> anyhow::Result<Self> {
        Ok(Self {
            patterns: serde_json::from_str(&row.events).context("webhook events")?,
            filter: row.filter.as_deref().map(compiled).transpose()?,
            rate_limit: rate_limit(row.rate_limit),
            id: row.id,
            paused: row.paused,
            created_at: row.created_at,
        })
    }
}

/// An event whose deliveries wait to be written, with what they need of it.
const SELECT_DEFERRED: &str =
    "SELECT f.event_id, e.type AS event_type, e.created_at, e.data, e.changed_fields, e.previous,
         f.ordering_key, f.key_seq
     FROM fanouts f JOIN events e ON e.id = f.event_id";

#[derive(sqlx::FromRow)]
struct DeferredRow {
    event_id: String,
    event_type: String,
    created_at: i64,
    data: String,
    changed_fields: Option<String>,
    previous: Option<String>,
    ordering_key: Option<String>,
    key_seq: Option<i64>,
}

impl From<DeferredRow> for Deferred {
    fn from(row: DeferredRow) -> Self {
        Self {
            event_id: row.event_id,
            event_type: row.event_type,
            created_at: row.created_at,
            data: row.data,
            changed_fields: row.changed_fields,
            previous: row.previous,
            ordering_key: row.ordering_key,
            key_seq: row.key_seq,
        }
    }
}
