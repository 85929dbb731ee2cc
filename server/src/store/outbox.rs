//! Events in, deliveries out: every event is written with one delivery per
//! matching active webhook in the same transaction (the transactional outbox),
//! so that an acknowledged event is never lost.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::model::{EventAccepted, QueuedDelivery};
use anyhow::Context;
use serde_json::{Map, Value};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::{Job, MAX_PARAMS, Store, new_id};
use crate::events::Event;
use crate::events::subscribed;
use crate::objects::{Change, apply_patch};
use crate::time::now_ms;

/// An event to accept.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub data: Value,
    pub change: Option<(Vec<String>, Map<String, Value>)>,
}

/// What `update_object` did.
pub enum Updated {
    Missing,
    Unchanged(Map<String, Value>),
    Changed(Map<String, Value>, EventAccepted),
}

/// An event written to the outbox and the deliveries it queued.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub event_id: String,
    pub created_at: i64,
    pub deliveries: Vec<QueuedDelivery>,
    /// Beside each delivery: until when it is leased to this process's workers, if it is.
    leases: Vec<Option<i64>>,
    /// The event's data as stored, in bytes.
    bytes: usize,
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
async fn active_webhooks(
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
type Lease<'a> = dyn FnMut(&str, usize) -> Option<i64> + Send + 'a;

/// Writes `events` with one delivery per subscribed webhook, in multi-row
/// statements; each delivery leased until what `lease` says.
async fn write_events(
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

/// A request to publish, answered once its group is committed.
pub(super) struct Publication {
    events: Vec<NewEvent>,
    done: oneshot::Sender<anyhow::Result<Vec<EventAccepted>>>,
}

/// Requests sharing one transaction at most.
const GROUP: usize = 64;

/// The workers of this process, when they take published deliveries
/// straight from the group committer: such deliveries are written already
/// leased to them and handed over once committed, with no claim in between.
#[derive(Clone, Default)]
pub(super) struct FreshDeliveries(Arc<Mutex<Option<Taker>>>);

#[derive(Clone)]
struct Taker {
    jobs: mpsc::UnboundedSender<Vec<Job>>,
    lease: Duration,
    holdings: Holdings,
}

impl FreshDeliveries {
    fn taker(&self) -> Option<Taker> {
        let taker = self.0.lock().expect("fresh deliveries");
        taker
            .as_ref()
            .filter(|taker| !taker.jobs.is_closed())
            .cloned()
    }
}

/// How many deliveries this process's workers hold (running or waiting), per
/// webhook and in all, and the bytes of their events, against their bounds;
/// shared by the dispatch loop and the group committer. A published delivery
/// is leased to the workers only while there is room: beyond, it is written
/// unleased and waits in the outbox for a claim, instead of being handed over
/// only to be handed back. The bytes are counted per delivery, so a fan-out
/// of one large event counts it many times: an over-estimate, never an under-.
#[derive(Clone)]
pub struct Holdings(Arc<Mutex<Counts>>);

/// Limits on what the workers hold.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub per_webhook: usize,
    pub total: usize,
    pub bytes: usize,
}

struct Counts {
    per_webhook: HashMap<String, usize>,
    total: usize,
    bytes: usize,
    bounds: Bounds,
}

impl Counts {
    fn add(&mut self, webhook_id: &str, count: usize, bytes: usize) {
        match self.per_webhook.get_mut(webhook_id) {
            Some(held) => *held += count,
            None => {
                self.per_webhook.insert(webhook_id.to_string(), count);
            }
        }
        self.total += count;
        self.bytes += bytes;
    }
}

impl Holdings {
    pub fn new(bounds: Bounds) -> Self {
        Self(Arc::new(Mutex::new(Counts {
            per_webhook: HashMap::new(),
            total: 0,
            bytes: 0,
            bounds,
        })))
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.0.lock().expect("holdings")
    }

    /// Counts one more delivery of `bytes` for `webhook_id` if every bound leaves room for it.
    pub fn reserve(&self, webhook_id: &str, bytes: usize) -> bool {
        let mut counts = self.counts();
        let held = counts.per_webhook.get(webhook_id).copied().unwrap_or(0);
        let room = held < counts.bounds.per_webhook
            && counts.total < counts.bounds.total
            && counts.bytes + bytes <= counts.bounds.bytes;
        if room {
            counts.add(webhook_id, 1, bytes);
        }
        room
    }

    /// Counts one more, bounds or not: a claim sized its own room.
    pub fn add(&self, webhook_id: &str, bytes: usize) {
        self.counts().add(webhook_id, 1, bytes);
    }

    pub fn remove(&self, webhook_id: &str, bytes: usize) {
        self.remove_many(webhook_id, 1, bytes);
    }

    fn remove_many(&self, webhook_id: &str, count: usize, bytes: usize) {
        let mut counts = self.counts();
        if let Some(held) = counts.per_webhook.get_mut(webhook_id) {
            let count = count.min(*held);
            *held -= count;
            if *held == 0 {
                counts.per_webhook.remove(webhook_id);
            }
            counts.total -= count;
            counts.bytes = counts.bytes.saturating_sub(bytes);
        }
    }

    #[cfg(test)]
    pub fn count(&self, webhook_id: &str) -> usize {
        self.counts()
            .per_webhook
            .get(webhook_id)
            .copied()
            .unwrap_or(0)
    }

    /// What a claim may add now: deliveries, and bytes of their events.
    pub fn room(&self) -> (usize, usize) {
        let counts = self.counts();
        (
            counts.bounds.total.saturating_sub(counts.total),
            counts.bounds.bytes.saturating_sub(counts.bytes),
        )
    }

    /// Each webhook's count, for a claim running beside the dispatch loop.
    pub fn per_webhook(&self) -> HashMap<String, usize> {
        self.counts().per_webhook.clone()
    }
}

/// Group commit: every publication waiting when a transaction starts joins it,
/// so that concurrent publishers share one commit instead of queueing for one
/// each. The commit itself does not wait for the disk: the writer goes on to
/// the next transaction while `answer_when_durable` syncs the log, and each
/// publication is answered only once its group is durable.
pub(super) async fn commit_groups(
    writer: SqlitePool,
    log: Option<PathBuf>,
    fresh: FreshDeliveries,
    mut requests: mpsc::Receiver<Publication>,
) {
    let (committed, to_answer) = mpsc::unbounded_channel();
    tokio::spawn(answer_when_durable(writer.clone(), log, to_answer));
    let mut group = Vec::with_capacity(GROUP);
    while requests.recv_many(&mut group, GROUP).await > 0 {
        let taker = fresh.taker();
        // Per webhook, deliveries and bytes, to give back should the commit fail.
        let mut reserved: HashMap<String, (usize, usize)> = HashMap::new();
        let lease_until = now_ms() + taker.as_ref().map_or(0, |t| t.lease.as_millis() as i64);
        let mut lease = |webhook_id: &str, bytes: usize| {
            if !taker.as_ref()?.holdings.reserve(webhook_id, bytes) {
                return None;
            }
            match reserved.get_mut(webhook_id) {
                Some((count, held_bytes)) => {
                    *count += 1;
                    *held_bytes += bytes;
                }
                None => {
                    reserved.insert(webhook_id.to_string(), (1, bytes));
                }
            }
            Some(lease_until)
        };
        match commit_group(&writer, &group, &mut lease).await {
            Ok(enqueued) => {
                let group = std::mem::replace(&mut group, Vec::with_capacity(GROUP));
                let _ = committed.send(Committed {
                    group,
                    enqueued,
                    taker,
                });
            }
            Err(error) => {
                if let Some(taker) = &taker {
                    for (webhook_id, (count, bytes)) in &reserved {
                        taker.holdings.remove_many(webhook_id, *count, *bytes);
                    }
                }
                let message = format!("{error:#}");
                for publication in group.drain(..) {
                    let _ = publication.done.send(Err(anyhow::anyhow!("{message}")));
                }
            }
        }
    }
}

/// A group committed, waiting for the log to reach the disk.
struct Committed {
    group: Vec<Publication>,
    enqueued: Vec<Vec<Enqueued>>,
    taker: Option<Taker>,
}

/// Syncs the log once for every group committed meanwhile, then answers
/// their publishers and hands their deliveries to the workers.
async fn answer_when_durable(
    writer: SqlitePool,
    log: Option<PathBuf>,
    mut committed: mpsc::UnboundedReceiver<Committed>,
) {
    let mut groups = Vec::new();
    while committed.recv_many(&mut groups, usize::MAX).await > 0 {
        let synced = match &log {
            Some(log) => sync(log.clone()).await,
            None => Ok(()),
        };
        if let Err(error) = &synced {
            tracing::error!(error = format!("{error:#}"), "syncing the log failed");
        }
        for Committed {
            group,
            enqueued,
            taker,
        } in groups.drain(..)
        {
            let mut jobs = Vec::new();
            for (Publication { events, done }, enqueued) in group.into_iter().zip(enqueued) {
                jobs.extend(fresh_jobs(events, &enqueued));
                let answer = match &synced {
                    Ok(()) => Ok(enqueued.iter().map(Enqueued::accepted).collect()),
                    Err(error) => Err(anyhow::anyhow!("the events may not be durable: {error:#}")),
                };
                let _ = done.send(answer);
            }
            // Committed, so leased to the workers either way; events no webhook wanted need not wake them.
            if let Some(taker) = taker
                && !jobs.is_empty()
                && let Err(unsent) = taker.jobs.send(jobs)
            {
                // The workers stopped meanwhile: the deliveries go back to the outbox.
                let ids: Vec<String> = unsent.0.into_iter().map(|job| job.delivery_id).collect();
                if let Err(error) = super::deliveries::release(&writer, &ids).await {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "handing back failed; the leases will run out"
                    );
                }
            }
        }
    }
}

/// Flushes the log to the disk: what `synchronous = FULL` does inside each
/// commit, done here outside the writer's transactions, once for many.
async fn sync(log: PathBuf) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || {
        std::fs::File::open(&log)
            .and_then(|file| file.sync_data())
            .with_context(|| format!("syncing {}", log.display()))
    })
    .await?
}

async fn commit_group(
    writer: &SqlitePool,
    group: &[Publication],
    lease: &mut Lease<'_>,
) -> anyhow::Result<Vec<Vec<Enqueued>>> {
    // The group's events go in together: a few statements for the whole group.
    let events: Vec<&NewEvent> = group
        .iter()
        .flat_map(|publication| &publication.events)
        .collect();
    // No fsync in the commit: `answer_when_durable` syncs the log after it.
    let mut writer = super::relaxed(writer).await?;
    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
    let webhooks = active_webhooks(&mut tx).await?;
    let mut enqueued = write_events(&mut tx, &webhooks, &events, lease)
        .await?
        .into_iter();
    tx.commit().await.context("committing events")?;
    writer.restore().await?;
    Ok(group
        .iter()
        .map(|publication| enqueued.by_ref().take(publication.events.len()).collect())
        .collect())
}

/// The deliveries of published events leased to the workers, as they take
/// them; the deliveries of one event share it.
fn fresh_jobs(events: Vec<NewEvent>, enqueued: &[Enqueued]) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (event, enqueued) in events.into_iter().zip(enqueued) {
        let leased: Vec<_> = enqueued
            .deliveries
            .iter()
            .zip(&enqueued.leases)
            .filter_map(|(delivery, lease_until)| Some((delivery, (*lease_until)?)))
            .collect();
        if leased.is_empty() {
            continue;
        }
        let event = Arc::new(Event {
            id: enqueued.event_id.clone(),
            event_type: event.event_type,
            data: event.data,
            change: event.change,
            created_at: enqueued.created_at,
        });
        jobs.extend(leased.into_iter().map(|(delivery, lease_until)| Job {
            delivery_id: delivery.id.clone(),
            webhook_id: delivery.webhook_id.clone(),
            attempt_count: 0,
            single_attempt: false,
            lease_until,
            event: event.clone(),
            bytes: enqueued.bytes,
        }));
    }
    jobs
}

fn parse_object(text: &str) -> anyhow::Result<Map<String, Value>> {
    serde_json::from_str(text).context("stored object")
}

impl Store {
    /// Hands this process's workers the deliveries of every later publication
    /// that `holdings` has room for (counted there as they are leased), leased
    /// to them for `lease`, until the receiver is dropped.
    pub fn take_fresh_deliveries(
        &self,
        lease: Duration,
        holdings: Holdings,
    ) -> mpsc::UnboundedReceiver<Vec<Job>> {
        let (jobs, taken) = mpsc::unbounded_channel();
        let taker = Taker {
            jobs,
            lease,
            holdings,
        };
        *self.fresh.0.lock().expect("fresh deliveries") = Some(taker);
        taken
    }

    /// Accepts published events, all or none, answering once they are durable.
    pub async fn publish(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<EventAccepted>> {
        let (done, committed) = oneshot::channel();
        self.publisher
            .send(Publication { events, done })
            .await
            .map_err(|_| anyhow::anyhow!("the store is closed"))?;
        committed.await.context("the store is closed")?
    }

    /// Stores a new object (given without `id`) and fires `{module}.create`.
    pub async fn create_object(
        &self,
        module: &str,
        mut data: Map<String, Value>,
    ) -> anyhow::Result<(Map<String, Value>, EventAccepted)> {
        let id = new_id("obj");
        data.insert("id".into(), Value::String(id.clone()));
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO objects (module, id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(module)
        .bind(&id)
        .bind(serde_json::to_string(&data)?)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let event = NewEvent {
            event_type: format!("{module}.create"),
            data: Value::Object(data.clone()),
            change: None,
        };
        let accepted = enqueue(&mut tx, &[event]).await?.remove(0).accepted();
        tx.commit().await.context("committing an object")?;
        Ok((data, accepted))
    }

    pub async fn object(
        &self,
        module: &str,
        id: &str,
    ) -> anyhow::Result<Option<Map<String, Value>>> {
        let data: Option<String> =
            sqlx::query_scalar("SELECT data FROM objects WHERE module = ? AND id = ?")
                .bind(module)
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
        data.as_deref().map(parse_object).transpose()
    }

    /// A page of a module's objects in id (creation) order, after `cursor`.
    pub async fn objects(
        &self,
        module: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<Map<String, Value>>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT data FROM objects WHERE module = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(module)
        .bind(cursor.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|text| parse_object(text)).collect()
    }

    /// Merges `patch` into an object and fires `{module}.update` if anything changed.
    pub async fn update_object(
        &self,
        module: &str,
        id: &str,
        patch: Map<String, Value>,
    ) -> anyhow::Result<Updated> {
        let mut tx = self.writer.begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT data FROM objects WHERE module = ? AND id = ?")
                .bind(module)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else {
            return Ok(Updated::Missing);
        };
        let Change {
            object,
            changed_fields,
            previous,
        } = apply_patch(&parse_object(&old)?, patch);
        if changed_fields.is_empty() {
            return Ok(Updated::Unchanged(object));
        }
        sqlx::query("UPDATE objects SET data = ?, updated_at = ? WHERE module = ? AND id = ?")
            .bind(serde_json::to_string(&object)?)
            .bind(now_ms())
            .bind(module)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let event = NewEvent {
            event_type: format!("{module}.update"),
            data: Value::Object(object.clone()),
            change: Some((changed_fields, previous)),
        };
        let accepted = enqueue(&mut tx, &[event]).await?.remove(0).accepted();
        tx.commit().await.context("committing an update")?;
        Ok(Updated::Changed(object, accepted))
    }

    /// Deletes an object and fires `{module}.delete` with it as it was; `None` if missing.
    pub async fn delete_object(
        &self,
        module: &str,
        id: &str,
    ) -> anyhow::Result<Option<EventAccepted>> {
        let mut tx = self.writer.begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("DELETE FROM objects WHERE module = ? AND id = ? RETURNING data")
                .bind(module)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else { return Ok(None) };
        let event = NewEvent {
            event_type: format!("{module}.delete"),
            data: Value::Object(parse_object(&old)?),
            change: None,
        };
        let accepted = enqueue(&mut tx, &[event]).await?.remove(0).accepted();
        tx.commit().await.context("committing a delete")?;
        Ok(Some(accepted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> NewEvent {
        NewEvent {
            event_type: "order.create".into(),
            data: serde_json::json!({"id": 1}),
            change: None,
        }
    }

    async fn publish(requests: &mpsc::Sender<Publication>) -> anyhow::Result<Vec<EventAccepted>> {
        let (done, answer) = oneshot::channel();
        let publication = Publication {
            events: vec![event()],
            done,
        };
        requests
            .send(publication)
            .await
            .expect("the committer runs");
        answer.await.expect("an answer")
    }

    #[test]
    fn a_webhook_is_leased_no_more_than_its_share_nor_the_workers_more_than_all() {
        let holdings = Holdings::new(Bounds {
            per_webhook: 2,
            total: 3,
            bytes: 1_000,
        });
        assert!(holdings.reserve("wh_a", 10) && holdings.reserve("wh_a", 10));
        assert!(!holdings.reserve("wh_a", 10), "wh_a holds its share");
        assert!(holdings.reserve("wh_b", 10));
        assert!(
            !holdings.reserve("wh_c", 10),
            "the workers hold all they may"
        );
        // A failed commit gives its reservations back.
        holdings.remove_many("wh_a", 2, 20);
        assert_eq!(holdings.count("wh_a"), 0);
        assert_eq!(holdings.room(), (2, 990));
        assert!(holdings.reserve("wh_c", 10));
    }

    #[test]
    fn large_events_are_held_only_within_the_byte_budget() {
        let holdings = Holdings::new(Bounds {
            per_webhook: 100,
            total: 100,
            bytes: 1_000,
        });
        assert!(holdings.reserve("wh_a", 600));
        assert!(!holdings.reserve("wh_b", 600), "two would pass the budget");
        assert!(holdings.reserve("wh_b", 400), "a smaller one still fits");
        holdings.remove("wh_a", 600);
        assert!(holdings.reserve("wh_b", 600));
    }

    #[test]
    fn the_deliveries_of_one_event_share_one_copy_of_it() {
        let delivery = |id: &str, webhook_id: &str| QueuedDelivery {
            id: id.into(),
            webhook_id: webhook_id.into(),
        };
        let enqueued = Enqueued {
            event_id: "evt_1".into(),
            created_at: 0,
            deliveries: vec![
                delivery("dlv_1", "wh_a"),
                delivery("dlv_2", "wh_b"),
                delivery("dlv_3", "wh_c"),
            ],
            leases: vec![Some(5_000), Some(5_000), None],
            bytes: 8,
        };
        let jobs = fresh_jobs(vec![event()], &[enqueued]);
        assert_eq!(jobs.len(), 2, "the unleased delivery waits in the outbox");
        assert!(Arc::ptr_eq(&jobs[0].event, &jobs[1].event));
        assert_eq!(jobs[0].event.data, serde_json::json!({"id": 1}));
    }

    #[tokio::test]
    async fn a_publication_is_acknowledged_only_once_its_log_reached_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/hookhub.db", dir.path().display());
        let store = Store::open(&url).await.unwrap();

        let committer = |log: PathBuf| {
            let (requests, received) = mpsc::channel(8);
            let fresh = FreshDeliveries::default();
            tokio::spawn(commit_groups(
                store.writer.clone(),
                Some(log),
                fresh,
                received,
            ));
            requests
        };

        let synced = committer(dir.path().join("hookhub.db-wal"));
        let accepted = publish(&synced).await.unwrap();
        assert_eq!(accepted.len(), 1);

        // A log that cannot be synced: the commit happened, but no 202.
        let unsyncable = committer(dir.path().join("gone").join("hookhub.db-wal"));
        let refused = publish(&unsyncable).await.unwrap_err();
        assert!(
            format!("{refused:#}").contains("may not be durable"),
            "{refused:#}"
        );
    }
}
