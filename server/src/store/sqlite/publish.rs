//! Publishing through the outbox with group commit: concurrent publications
//! share one transaction and one sync of the log, are answered once durable,
//! and their deliveries go straight to this process's workers while they
//! have room.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::SqliteStore;
use super::outbox::{active_webhooks, write_events};
use crate::events::Event;
use crate::model::EventAccepted;
use crate::store::outbox::{Enqueued, Lease};
use crate::store::{EventStore, Job, NewEvent, WorkerRoom};
use crate::time::now_ms;

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
    room: Arc<dyn WorkerRoom>,
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
            if !taker.as_ref()?.room.reserve(webhook_id, bytes) {
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
                        taker.room.give_back(webhook_id, *count, *bytes);
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

#[async_trait::async_trait]
impl EventStore for SqliteStore {
    fn take_fresh_deliveries(
        &self,
        lease: Duration,
        room: Arc<dyn WorkerRoom>,
    ) -> mpsc::UnboundedReceiver<Vec<Job>> {
        let (jobs, taken) = mpsc::unbounded_channel();
        let taker = Taker { jobs, lease, room };
        *self.fresh.0.lock().expect("fresh deliveries") = Some(taker);
        taken
    }

    fn wake_on_commits(&self, _wake: Arc<tokio::sync::Notify>) {}

    async fn publish(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<EventAccepted>> {
        let (done, committed) = oneshot::channel();
        self.publisher
            .send(Publication { events, done })
            .await
            .map_err(|_| anyhow::anyhow!("the store is closed"))?;
        committed.await.context("the store is closed")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QueuedDelivery;

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
        let store = SqliteStore::open(&url).await.unwrap();

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
