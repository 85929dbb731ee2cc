//! The dispatch loop: claim what is due, in batches, within the concurrency
//! bounds; send each in its own task; sleep until woken, until the next
//! delivery falls due, or until a slot frees up.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{Deliverer, MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_WEBHOOK, Retries};
use crate::store::now_ms;

/// The longest sleep: picks up deliveries other instances queued and leases that ran out.
const POLL: Duration = Duration::from_secs(1);
/// After a failed database call, wait this long before trying again.
const BACKOFF: Duration = Duration::from_millis(500);

/// What is in flight: by delivery, and how many per webhook.
#[derive(Default)]
struct InFlight {
    deliveries: HashMap<String, String>,
    per_webhook: HashMap<String, usize>,
}

impl InFlight {
    fn start(&mut self, delivery_id: String, webhook_id: String) {
        *self.per_webhook.entry(webhook_id.clone()).or_default() += 1;
        self.deliveries.insert(delivery_id, webhook_id);
    }

    fn finish(&mut self, delivery_id: &str) {
        if let Some(webhook_id) = self.deliveries.remove(delivery_id)
            && let Some(count) = self.per_webhook.get_mut(&webhook_id)
        {
            *count -= 1;
            if *count == 0 {
                self.per_webhook.remove(&webhook_id);
            }
        }
    }

    fn busy_webhooks(&self) -> Vec<String> {
        self.per_webhook
            .iter()
            .filter(|(_, count)| **count >= MAX_IN_FLIGHT_PER_WEBHOOK)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// Runs until `shutdown` turns true, then lets attempts in flight finish for up
/// to `drain`, and gives back the claims of those that did not.
pub async fn run_workers(
    deliverer: Deliverer,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let mut in_flight = InFlight::default();
    let mut tasks: JoinSet<String> = JoinSet::new();
    while !*shutdown.borrow() {
        let claimed = match claim(&deliverer, &mut in_flight, &mut tasks).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "claiming deliveries failed");
                tokio::time::sleep(BACKOFF).await;
                continue;
            }
        };
        if claimed > 0 && in_flight.deliveries.len() < MAX_IN_FLIGHT {
            continue; // there may be more due right now
        }
        let sleep = match deliverer.store.next_due_at().await {
            Ok(Some(due)) if due > now_ms() => {
                Duration::from_millis((due - now_ms()) as u64).min(POLL)
            }
            _ => POLL,
        };
        tokio::select! {
            _ = deliverer.wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            Some(done) = tasks.join_next() => finished(&mut in_flight, done),
            _ = shutdown.changed() => {}
        }
        while let Some(done) = tasks.try_join_next() {
            finished(&mut in_flight, done);
        }
    }
    drain_and_release(&deliverer, in_flight, tasks, drain).await;
}

fn finished(in_flight: &mut InFlight, done: Result<String, tokio::task::JoinError>) {
    match done {
        Ok(delivery_id) => in_flight.finish(&delivery_id),
        Err(error) => tracing::error!(%error, "a delivery task failed"),
    }
}

/// Claims what fits in the free slots and starts sending it; returns how many.
async fn claim(
    deliverer: &Deliverer,
    in_flight: &mut InFlight,
    tasks: &mut JoinSet<String>,
) -> anyhow::Result<usize> {
    let free = MAX_IN_FLIGHT - in_flight.deliveries.len();
    if free == 0 {
        return Ok(0);
    }
    let candidates = deliverer
        .store
        .due_deliveries(&in_flight.busy_webhooks(), free)
        .await?;
    let mut wanted = Vec::new();
    let mut planned: HashMap<&str, usize> = HashMap::new();
    for (delivery_id, webhook_id) in &candidates {
        let running = in_flight.per_webhook.get(webhook_id).copied().unwrap_or(0);
        let added = planned.entry(webhook_id).or_default();
        if running + *added < MAX_IN_FLIGHT_PER_WEBHOOK {
            *added += 1;
            wanted.push(delivery_id.clone());
        }
    }
    let lease_until = now_ms() + deliverer.settings.lease().as_millis() as i64;
    let jobs = deliverer.store.claim(&wanted, lease_until).await?;
    let claimed = jobs.len();
    for job in jobs {
        in_flight.start(job.delivery_id.clone(), job.webhook_id.clone());
        let deliverer = deliverer.clone();
        tasks.spawn(async move {
            match deliverer.attempt(&job, Retries::Scheduled).await {
                Ok(Some(outcome)) => deliverer.record(outcome).await,
                Ok(None) => {}
                // The lease runs out and another attempt follows.
                Err(error) => tracing::error!(delivery = %job.delivery_id, error = format!("{error:#}"), "delivery failed"),
            }
            job.delivery_id
        });
    }
    Ok(claimed)
}

async fn drain_and_release(
    deliverer: &Deliverer,
    mut in_flight: InFlight,
    mut tasks: JoinSet<String>,
    drain: Duration,
) {
    let deadline = tokio::time::Instant::now() + drain;
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(done)) => finished(&mut in_flight, done),
            Ok(None) => break,
            Err(_) => {
                tasks.abort_all();
                while let Some(done) = tasks.join_next().await {
                    if let Ok(delivery_id) = done {
                        in_flight.finish(&delivery_id);
                    }
                }
            }
        }
    }
    let unfinished: Vec<String> = in_flight.deliveries.into_keys().collect();
    if !unfinished.is_empty() {
        tracing::info!(
            count = unfinished.len(),
            "releasing deliveries still in flight"
        );
        if let Err(error) = deliverer.store.release(&unfinished).await {
            tracing::error!(
                error = format!("{error:#}"),
                "releasing deliveries failed; their leases will run out"
            );
        }
    }
}
