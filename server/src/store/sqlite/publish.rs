//! Publishing through the outbox with group commit: concurrent publications
//! share one transaction and one sync of the log, are answered once durable,
//! and their deliveries go straight to this process's workers while they
//! have room.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use tokio::sync::{Notify, mpsc};

use super::SqliteStore;
use super::sql::{subscribers, write_events};
use crate::model::EventAccepted;
use crate::store::outbox::{Enqueued, FreshDeliveries, Leasing, Publication, Reservation};
use crate::store::{EventStore, Job, NewEvent, WorkerRoom};

/// Requests sharing one transaction at most.
const GROUP: usize = 64;

/// Group commit: every publication waiting when a transaction starts joins it,
/// so that concurrent publishers share one commit instead of queueing for one
/// each. The commit itself does not wait for the disk: the writer goes on to
/// the next transaction while `answer_when_durable` syncs the log, and each
/// publication is answered only once its group is durable.
pub(super) async fn commit_groups(
    writer: SqlitePool,
    log: PathBuf,
    fresh: FreshDeliveries,
    mut requests: mpsc::Receiver<Publication>,
) {
    let (committed, to_answer) = mpsc::unbounded_channel();
    tokio::spawn(answer_when_durable(writer.clone(), log, to_answer));
    let mut group = Vec::with_capacity(GROUP);
    while requests.recv_many(&mut group, GROUP).await > 0 {
        let mut reservation = Reservation::new(&fresh);
        let mut lease = |webhook_id: &str, bytes: usize| reservation.lease(webhook_id, bytes);
        match commit_group(&writer, &group, &mut lease).await {
            Ok(enqueued) => {
                let group = std::mem::replace(&mut group, Vec::with_capacity(GROUP));
                let _ = committed.send(Committed {
                    group,
                    enqueued,
                    reservation,
                });
            }
            Err(error) => {
                reservation.give_back();
                let copy = crate::store::outage::copies_of(&error);
                for publication in group.drain(..) {
                    let _ = publication.done.send(Err(copy()));
                }
            }
        }
    }
}

/// A group committed, waiting for the log to reach the disk.
struct Committed {
    group: Vec<Publication>,
    enqueued: Vec<Vec<Enqueued>>,
    reservation: Reservation,
}

/// Syncs the log once for every group committed meanwhile, then answers
/// their publishers and hands their deliveries to the workers.
async fn answer_when_durable(
    writer: SqlitePool,
    log: PathBuf,
    mut committed: mpsc::UnboundedReceiver<Committed>,
) {
    let mut groups = Vec::new();
    while committed.recv_many(&mut groups, usize::MAX).await > 0 {
        let synced = sync(log.clone()).await;
        if let Err(error) = &synced {
            tracing::error!(error = format!("{error:#}"), "syncing the log failed");
        }
        for Committed {
            group,
            enqueued,
            reservation,
        } in groups.drain(..)
        {
            let mut events = Vec::new();
            for (
                Publication {
                    events: published,
                    done,
                },
                enqueued,
            ) in group.into_iter().zip(&enqueued)
            {
                events.extend(published);
                let answer = match &synced {
                    Ok(()) => Ok(enqueued.iter().map(Enqueued::accepted).collect()),
                    Err(error) => Err(anyhow::anyhow!("the events may not be durable: {error:#}")),
                };
                let _ = done.send(answer);
            }
            // Committed, so leased to the workers either way.
            let enqueued: Vec<Enqueued> = enqueued.into_iter().flatten().collect();
            let unsent = reservation.hand_over(events, &enqueued);
            if !unsent.is_empty() {
                // The workers stopped meanwhile: the deliveries go back to the outbox.
                if let Err(error) = super::queue::release(&writer, &unsent).await {
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
    lease: &mut Leasing<'_>,
) -> anyhow::Result<Vec<Vec<Enqueued>>> {
    // The group's events go in together: a few statements for the whole group.
    let events: Vec<&NewEvent> = group
        .iter()
        .flat_map(|publication| &publication.events)
        .collect();
    // No fsync in the commit: `answer_when_durable` syncs the log after it.
    let mut writer = super::relaxed(writer).await?;
    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
    let webhooks = subscribers(&mut tx).await?;
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

#[async_trait::async_trait]
impl EventStore for SqliteStore {
    fn take_fresh_deliveries(
        &self,
        lease: Duration,
        room: Arc<dyn WorkerRoom>,
    ) -> mpsc::UnboundedReceiver<Vec<Job>> {
        self.fresh.take(lease, room)
    }

    /// Published deliveries the workers have no room for wake them; the
    /// handlers wake them for the rest.
    fn wake_on_commits(&self, wake: Arc<Notify>) {
        self.fresh.wake_for_the_rest(wake);
    }

    async fn fan_out(&self, at_most: usize) -> anyhow::Result<usize> {
        self.fan_out_deferred(at_most).await
    }

    async fn publish(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<EventAccepted>> {
        Publication::send(&self.publisher, events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn publish(requests: &mpsc::Sender<Publication>) -> anyhow::Result<Vec<EventAccepted>> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let publication = Publication {
            events: vec![NewEvent::sample()],
            done,
        };
        requests
            .send(publication)
            .await
            .expect("the committer runs");
        answer.await.expect("an answer")
    }

    #[tokio::test]
    async fn a_publication_is_acknowledged_only_once_its_log_reached_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/hookhub.db", dir.path().display());
        let store = SqliteStore::open(&url).await.unwrap();

        let committer = |log: PathBuf| {
            let (requests, received) = mpsc::channel(8);
            let fresh = FreshDeliveries::default();
            tokio::spawn(commit_groups(store.writer.clone(), log, fresh, received));
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
