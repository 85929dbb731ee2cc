//! The dispatch loop. It claims due deliveries in batches and holds a few more
//! per webhook than it runs, so that a slot that frees up is refilled from
//! memory rather than with a database round trip; one claim (one write) then
//! serves many deliveries. It sleeps until woken by a commit, until the next
//! delivery falls due, or until attempts finish.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{Deliverer, Kind, MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_WEBHOOK};
use crate::store::{Job, now_ms};

/// Claimed deliveries held per webhook: running plus waiting for a slot. A
/// waiting delivery starts when one running finishes, so it waits at most one
/// attempt's time (see `Settings::lease`).
const HELD_PER_WEBHOOK: usize = 2 * MAX_IN_FLIGHT_PER_WEBHOOK;
const HELD: usize = 2 * MAX_IN_FLIGHT;
/// Claim again once this many attempts have finished since the last claim.
const REFILL: usize = MAX_IN_FLIGHT_PER_WEBHOOK / 2;
/// The longest sleep: picks up deliveries other instances queued and leases that ran out.
const POLL: Duration = Duration::from_secs(1);
/// After a failed database call, wait this long before trying again.
const BACKOFF: Duration = Duration::from_millis(500);

/// What this worker holds, by webhook.
#[derive(Default)]
struct Held {
    running: HashMap<String, usize>,
    running_total: usize,
    waiting: HashMap<String, VecDeque<Job>>,
    /// Every held delivery (running or waiting) and its webhook.
    deliveries: HashMap<String, String>,
}

impl Held {
    fn count(&self, webhook_id: &str) -> usize {
        self.running.get(webhook_id).copied().unwrap_or(0)
            + self.waiting.get(webhook_id).map_or(0, VecDeque::len)
    }

    /// Webhooks that hold all they may: the next claim skips them.
    fn full_webhooks(&self) -> Vec<String> {
        // Every held delivery is running or waiting, so these keys cover every held webhook.
        let webhooks: std::collections::HashSet<&String> =
            self.running.keys().chain(self.waiting.keys()).collect();
        webhooks
            .into_iter()
            .filter(|webhook_id| self.count(webhook_id) >= HELD_PER_WEBHOOK)
            .cloned()
            .collect()
    }

    fn hold(&mut self, job: Job) {
        self.deliveries
            .insert(job.delivery_id.clone(), job.webhook_id.clone());
        self.waiting
            .entry(job.webhook_id.clone())
            .or_default()
            .push_back(job);
    }

    /// Waiting deliveries that may run now, within both concurrency bounds.
    fn ready(&mut self) -> Vec<Job> {
        let mut ready = Vec::new();
        for (webhook_id, queue) in &mut self.waiting {
            let running = self.running.entry(webhook_id.clone()).or_default();
            while *running < MAX_IN_FLIGHT_PER_WEBHOOK && self.running_total < MAX_IN_FLIGHT {
                let Some(job) = queue.pop_front() else { break };
                *running += 1;
                self.running_total += 1;
                ready.push(job);
            }
        }
        self.waiting.retain(|_, queue| !queue.is_empty());
        self.running.retain(|_, count| *count > 0);
        ready
    }

    fn finish(&mut self, delivery_id: &str) {
        let Some(webhook_id) = self.deliveries.remove(delivery_id) else {
            return;
        };
        if let Some(count) = self.running.get_mut(&webhook_id) {
            *count -= 1;
            self.running_total -= 1;
            if *count == 0 {
                self.running.remove(&webhook_id);
            }
        }
    }
}

/// Runs until `shutdown` turns true; then hands back what waits, lets attempts
/// in flight finish for up to `drain`, and hands back those that did not.
pub async fn run_workers(
    deliverer: Deliverer,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let mut held = Held::default();
    let mut tasks: JoinSet<String> = JoinSet::new();
    let mut claim_now = true;
    let mut finished_since_claim = 0;
    while !*shutdown.borrow() {
        let mut sleep = POLL;
        if claim_now {
            let room = HELD - held.deliveries.len();
            match claim(&deliverer, &mut held, room).await {
                // A full batch: there may be more due right now.
                Ok(claimed) if claimed == room && room > 0 => {}
                Ok(claimed) => {
                    claim_now = false;
                    if claimed == 0 && held.deliveries.is_empty() {
                        sleep = until_next_due(&deliverer).await;
                    }
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "claiming deliveries failed");
                    sleep = BACKOFF;
                    claim_now = false;
                }
            }
            finished_since_claim = 0;
        }
        for job in held.ready() {
            let deliverer = deliverer.clone();
            tasks.spawn(async move {
                let kind = if job.single_attempt {
                    Kind::Redelivery
                } else {
                    Kind::Scheduled
                };
                match deliverer.attempt(&job, kind).await {
                    Ok(Some(outcome)) => deliverer.record(outcome).await,
                    Ok(None) => {}
                    // The lease runs out and another attempt follows.
                    Err(error) => tracing::error!(
                        delivery = %job.delivery_id,
                        error = format!("{error:#}"),
                        "delivery failed"
                    ),
                }
                job.delivery_id
            });
        }
        if claim_now {
            continue;
        }
        tokio::select! {
            _ = deliverer.wake.notified() => claim_now = true,
            _ = tokio::time::sleep(sleep) => claim_now = true,
            Some(done) = tasks.join_next() => {
                finished(&mut held, done);
                finished_since_claim += 1;
            }
            _ = shutdown.changed() => {}
        }
        while let Some(done) = tasks.try_join_next() {
            finished(&mut held, done);
            finished_since_claim += 1;
        }
        claim_now |= finished_since_claim >= REFILL || held.deliveries.is_empty();
    }
    // Hand back what has not started, then wait for what has.
    let waiting: Vec<String> = held
        .waiting
        .drain()
        .flat_map(|(_, queue)| queue.into_iter().map(|job| job.delivery_id))
        .collect();
    for id in &waiting {
        held.deliveries.remove(id);
    }
    release(&deliverer, &waiting).await;
    drain_running(&deliverer, held, tasks, drain).await;
    deliverer.flush().await;
}

fn finished(held: &mut Held, done: Result<String, tokio::task::JoinError>) {
    match done {
        Ok(delivery_id) => held.finish(&delivery_id),
        Err(error) => tracing::error!(%error, "a delivery task failed"),
    }
}

/// Claims up to `room` due deliveries into `held`; returns how many.
async fn claim(deliverer: &Deliverer, held: &mut Held, room: usize) -> anyhow::Result<usize> {
    if room == 0 {
        return Ok(0);
    }
    let candidates = deliverer
        .store
        .due_deliveries(&held.full_webhooks(), room)
        .await?;
    let mut wanted = Vec::new();
    let mut added: HashMap<&str, usize> = HashMap::new();
    for (delivery_id, webhook_id) in &candidates {
        let count = added.entry(webhook_id).or_default();
        if held.count(webhook_id) + *count < HELD_PER_WEBHOOK {
            *count += 1;
            wanted.push(delivery_id.clone());
        }
    }
    let lease_until = now_ms() + deliverer.settings.lease().as_millis() as i64;
    let jobs = deliverer.store.claim(&wanted, lease_until).await?;
    let claimed = jobs.len();
    jobs.into_iter().for_each(|job| held.hold(job));
    Ok(claimed)
}

/// How long to sleep when nothing is due: until the next delivery is, at most `POLL`.
async fn until_next_due(deliverer: &Deliverer) -> Duration {
    match deliverer.store.next_due_at().await {
        Ok(Some(due)) if due > now_ms() => Duration::from_millis((due - now_ms()) as u64).min(POLL),
        _ => POLL,
    }
}

async fn drain_running(
    deliverer: &Deliverer,
    mut held: Held,
    mut tasks: JoinSet<String>,
    drain: Duration,
) {
    let deadline = tokio::time::Instant::now() + drain;
    while let Ok(Some(done)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {
        finished(&mut held, done);
    }
    tasks.abort_all();
    while let Some(done) = tasks.join_next().await {
        if let Ok(delivery_id) = done {
            held.finish(&delivery_id);
        }
    }
    let cut_off: Vec<String> = held.deliveries.into_keys().collect();
    release(deliverer, &cut_off).await;
}

async fn release(deliverer: &Deliverer, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    tracing::info!(count = ids.len(), "handing back claimed deliveries");
    if let Err(error) = deliverer.store.release(ids).await {
        tracing::error!(
            error = format!("{error:#}"),
            "handing back failed; the leases will run out"
        );
    }
}
