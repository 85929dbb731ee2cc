//! The dispatch loop. It claims due deliveries in batches and holds many more
//! per webhook than it runs, so that a slot that frees up is refilled from
//! memory rather than with a database round trip; one claim (one write) then
//! serves hundreds of deliveries. Claims run beside the dispatching, never in
//! its way. The loop sleeps until woken by a commit or a retry falling due,
//! until attempts finish, or for a second at most.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::holdings::{Bounds, Holdings};
use super::{Deliverer, MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_WEBHOOK, Sending};
use crate::store::{Job, Lease, Store};
use crate::time::now_ms;

/// Claimed deliveries held per webhook: running plus waiting for a slot. A
/// delivery that could not finish within its lease any more is handed back
/// unsent (`WorkQueue::ready`), so a slow webhook never holds others up; its
/// backlog costs one claim and one hand-back of this many per lease.
const HELD_PER_WEBHOOK: usize = 128 * MAX_IN_FLIGHT_PER_WEBHOOK;
const HELD: usize = 8 * HELD_PER_WEBHOOK;
/// The events' data held in all (counted per delivery), so that many large
/// events wait in the outbox rather than in memory. Above the largest
/// request, so that any event fits once the workers hold nothing.
const HELD_BYTES: usize = 64 << 20;
const _: () = assert!(HELD_BYTES > crate::events::MAX_EVENT_BYTES);
/// Claim again once this many attempts have finished since the last claim.
const REFILL: usize = HELD_PER_WEBHOOK / 4;
/// Due deliveries read per claim round.
const CANDIDATES: usize = 2 * HELD_PER_WEBHOOK;
/// Claim rounds at most per claim: a round skips the webhooks the one before filled.
const ROUNDS: usize = 4;
/// The longest sleep: picks up what no wake-up announced (retries another
/// instance recorded, leases that ran out).
const POLL: Duration = Duration::from_secs(1);
/// After a failed database call, wait this long before trying again.
const BACKOFF: Duration = Duration::from_millis(500);
/// Time kept in hand after an attempt's timeout to record it within the lease.
const RECORD_MARGIN: Duration = Duration::from_secs(2);
/// How often the instances sharing the queue are counted.
const COUNT_INSTANCES_EVERY: Duration = Duration::from_secs(5);

/// Attempts in flight at once to one webhook from one of `instances`
/// sharing the queue: together they keep to `MAX_IN_FLIGHT_PER_WEBHOOK`, so
/// that a slow webhook takes that many connections of all of them, not of each.
fn share_per_webhook(instances: usize) -> usize {
    (MAX_IN_FLIGHT_PER_WEBHOOK / instances.max(1)).max(1)
}

/// A delivery this worker holds: its webhook, its event's size, and until
/// when its lease runs.
struct Held {
    webhook_id: String,
    bytes: usize,
    lease_until: i64,
    /// Running in a slot of the slow webhooks (`SLOW_SLOTS`).
    in_slow_slot: bool,
}

/// Slots that webhooks whose receivers stopped answering in time share at
/// most, so that the others always have the rest.
const SLOW_SLOTS: usize = MAX_IN_FLIGHT / 2;

/// Whether one more attempt to a webhook may start, with `running` of its
/// own in flight and `total` in all (`slow` of them in slow webhooks' slots).
///
/// A webhook answering in time runs up to its share of the webhook's limit
/// among the instances (`share`) while slots are free; once they are all
/// taken, a webhook below its fair part (`fair`: all slots divided among the
/// webhooks answering in time that have work) still starts one. Slots taken
/// cannot be taken back, so this is how a webhook that comes with work while
/// hung receivers hold every slot still goes at once: the slots are a soft
/// limit, and the fair parts add up to at most as many again. A webhook
/// whose last attempt timed out runs one at a time, within `SLOW_SLOTS`,
/// until it answers in time again.
fn may_start(
    pace: Pace,
    running: usize,
    total: usize,
    slow: usize,
    share: usize,
    fair: usize,
) -> bool {
    match pace {
        Pace::Slow => running == 0 && slow < SLOW_SLOTS,
        Pace::Answering => running < share && (total < MAX_IN_FLIGHT || running < fair),
    }
}

/// How a webhook's receiver has been answering lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    Answering,
    /// Its last attempt got no answer within the timeout.
    Slow,
}

/// A webhook's rate limit on this instance: a token bucket refilled at its
/// share of the limit (divided evenly among the instances), holding a tenth
/// of a second's worth at most (one token at least), so that deliveries go
/// out evenly rather than in bursts.
#[derive(Debug, Clone)]
struct Bucket {
    per_second: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(limit: u32, instances: usize, now: Instant) -> Self {
        let mut bucket = Self {
            per_second: 1.0,
            tokens: 0.0,
            at: now,
        };
        bucket.set_rate(limit, instances);
        bucket.tokens = bucket.capacity();
        bucket
    }

    fn set_rate(&mut self, limit: u32, instances: usize) {
        self.per_second = f64::from(limit) / instances.max(1) as f64;
    }

    fn capacity(&self) -> f64 {
        (self.per_second / 10.0).max(1.0)
    }

    /// One delivery may go now: a token taken.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity());
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }

    /// When the next token is there.
    fn next_at(&self) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0);
        self.at + Duration::from_secs_f64(missing / self.per_second)
    }
}

/// What this worker holds, by webhook: running, and waiting for a slot.
struct WorkQueue {
    /// Attempts in flight at once to one webhook from this instance (`share_per_webhook`).
    share: Arc<AtomicUsize>,
    /// The instances sharing the queue, which share each rate limit evenly.
    instances: Arc<AtomicUsize>,
    /// The webhooks with a rate limit (deliveries a second), as claims found them.
    limits: HashMap<String, u32>,
    /// Their buckets, made at their first delivery.
    buckets: HashMap<String, Bucket>,
    running: HashMap<String, usize>,
    running_total: usize,
    waiting: HashMap<String, VecDeque<Job>>,
    /// Every held delivery (running or waiting), by id.
    deliveries: HashMap<String, Held>,
    /// The same counted per webhook, with the publications leased to this
    /// worker on their way to it (`Store::take_fresh_deliveries`).
    holdings: Holdings,
    /// Webhooks whose last attempt timed out.
    slow: HashSet<String>,
    /// Attempts in flight in slow webhooks' slots.
    slow_running: usize,
}

impl WorkQueue {
    fn new() -> Self {
        Self {
            share: Arc::new(AtomicUsize::new(MAX_IN_FLIGHT_PER_WEBHOOK)),
            instances: Arc::new(AtomicUsize::new(1)),
            limits: HashMap::new(),
            buckets: HashMap::new(),
            running: HashMap::new(),
            running_total: 0,
            waiting: HashMap::new(),
            deliveries: HashMap::new(),
            holdings: Holdings::new(Bounds {
                per_webhook: HELD_PER_WEBHOOK,
                total: HELD,
                bytes: HELD_BYTES,
            }),
            slow: HashSet::new(),
            slow_running: 0,
        }
    }

    /// Holds a claimed delivery.
    fn hold(&mut self, job: Job) {
        self.holdings.add(&job.webhook_id, job.bytes);
        self.hold_counted(job);
    }

    /// Holds a published delivery, counted in `holdings` when it was leased.
    fn hold_counted(&mut self, job: Job) {
        let held = Held {
            webhook_id: job.webhook_id.clone(),
            bytes: job.bytes,
            lease_until: job.lease_until,
            in_slow_slot: false,
        };
        self.deliveries.insert(job.delivery_id.clone(), held);
        self.waiting
            .entry(job.webhook_id.clone())
            .or_default()
            .push_back(job);
    }

    /// Waiting deliveries that may run now (`may_start`), and the leases of
    /// those that end before `must_end_by`: they are no longer held and go
    /// back to the outbox unsent.
    fn ready(&mut self, must_end_by: i64) -> (Vec<Job>, Vec<Lease>) {
        self.ready_at(must_end_by, Instant::now())
    }

    /// `ready` at `now`, which rate limits count from.
    fn ready_at(&mut self, must_end_by: i64, now: Instant) -> (Vec<Job>, Vec<Lease>) {
        let instances = self.instances.load(Ordering::Relaxed);
        let mut ready = Vec::new();
        let mut lapsed = Vec::new();
        let share = self.share.load(Ordering::Relaxed);
        let answering_with_work = self
            .running
            .keys()
            .chain(
                self.waiting
                    .keys()
                    .filter(|webhook_id| !self.running.contains_key(*webhook_id)),
            )
            .filter(|webhook_id| !self.slow.contains(*webhook_id))
            .count();
        let fair = (MAX_IN_FLIGHT / answering_with_work.max(1)).max(1);
        for (webhook_id, queue) in &mut self.waiting {
            let pace = match self.slow.contains(webhook_id) {
                true => Pace::Slow,
                false => Pace::Answering,
            };
            let running = self.running.entry(webhook_id.clone()).or_default();
            while may_start(
                pace,
                *running,
                self.running_total,
                self.slow_running,
                share,
                fair,
            ) {
                let Some(job) = queue.pop_front() else { break };
                if job.lease_until < must_end_by {
                    self.deliveries.remove(&job.delivery_id);
                    self.holdings.remove(webhook_id, job.bytes);
                    lapsed.push(job.lease());
                    continue;
                }
                if let Some(&limit) = self.limits.get(webhook_id) {
                    let bucket = self
                        .buckets
                        .entry(webhook_id.clone())
                        .or_insert_with(|| Bucket::full(limit, instances, now));
                    bucket.set_rate(limit, instances);
                    if !bucket.take(now) {
                        queue.push_front(job);
                        break;
                    }
                }
                *running += 1;
                self.running_total += 1;
                if pace == Pace::Slow {
                    self.slow_running += 1;
                    if let Some(held) = self.deliveries.get_mut(&job.delivery_id) {
                        held.in_slow_slot = true;
                    }
                }
                ready.push(job);
            }
        }
        self.waiting.retain(|_, queue| !queue.is_empty());
        self.running.retain(|_, count| *count > 0);
        (ready, lapsed)
    }

    /// Learns a webhook's rate limit (`None`: it has none now).
    fn set_limit(&mut self, webhook_id: &str, limit: Option<u32>) {
        match limit {
            Some(limit) => {
                self.limits.insert(webhook_id.to_string(), limit);
            }
            None => {
                self.limits.remove(webhook_id);
                self.buckets.remove(webhook_id);
            }
        }
    }

    /// When a webhook waiting for its rate limit may send again, the soonest
    /// (one waiting for a slot instead is woken by the attempt that frees it).
    fn next_token_at(&self) -> Option<Instant> {
        self.waiting
            .keys()
            .filter_map(|webhook_id| self.buckets.get(webhook_id))
            .filter(|bucket| bucket.tokens < 1.0)
            .map(Bucket::next_at)
            .min()
    }

    /// Stops holding what waits for a slot (at shutdown): its leases, to
    /// hand back; what runs stays held.
    fn hand_back_waiting(&mut self) -> Vec<Lease> {
        let waiting: Vec<Job> = self.waiting.drain().flat_map(|(_, queue)| queue).collect();
        for job in &waiting {
            self.deliveries.remove(&job.delivery_id);
            self.holdings.remove(&job.webhook_id, job.bytes);
        }
        waiting.iter().map(Job::lease).collect()
    }

    /// The leases of everything still held (at the end of a shutdown: the
    /// attempts cut short), to hand back.
    fn into_leases(self) -> Vec<Lease> {
        self.deliveries
            .into_iter()
            .map(|(delivery_id, held)| Lease {
                delivery_id,
                until: held.lease_until,
            })
            .collect()
    }

    /// An attempt is over: its slot is free, and its webhook's pace is what it showed.
    fn finish(&mut self, delivery_id: &str, sending: Sending) {
        let Some(Held {
            webhook_id,
            bytes,
            in_slow_slot,
            ..
        }) = self.deliveries.remove(delivery_id)
        else {
            return;
        };
        match sending {
            Sending::TimedOut => {
                self.slow.insert(webhook_id.clone());
            }
            Sending::Answered => {
                self.slow.remove(&webhook_id);
            }
            Sending::NotSent => {}
        }
        if in_slow_slot {
            self.slow_running -= 1;
        }
        self.holdings.remove(&webhook_id, bytes);
        if let Some(count) = self.running.get_mut(&webhook_id) {
            *count -= 1;
            self.running_total -= 1;
            if *count == 0 {
                self.running.remove(&webhook_id);
            }
        }
    }
}

/// When the loop claims: at start, when woken (a commit, a retry falling
/// due) or at each poll; once `REFILL` attempts finished since the last
/// claim; or at the first that finishes while more was due than the last
/// claim could take. Never two claims at once.
#[derive(Debug)]
struct Refill {
    wanted: bool,
    more_due: bool,
    finished: usize,
}

impl Refill {
    fn new() -> Self {
        Self {
            wanted: true,
            more_due: false,
            finished: 0,
        }
    }

    /// Woken, or the poll came round: new work may be due.
    fn woken(&mut self) {
        self.wanted = true;
    }

    /// Whether to start a claim now; `free`: none runs and there is room.
    /// Started, it counts finished attempts afresh.
    fn start(&mut self, free: bool) -> bool {
        if !(self.wanted && free) {
            return false;
        }
        self.wanted = false;
        self.finished = 0;
        true
    }

    /// A claim landed; `more_due` if more was due than it could take.
    fn landed(&mut self, more_due: bool) {
        self.more_due = more_due;
    }

    /// An attempt finished: its slot is free to refill.
    fn finished(&mut self) {
        self.finished += 1;
        self.wanted |= self.finished >= REFILL || self.more_due;
    }
}

/// A claim under way beside the loop.
struct Claiming {
    task: JoinHandle<anyhow::Result<Claimed>>,
}

/// What a claim won, and whether more was due than it could take.
struct Claimed {
    jobs: Vec<Job>,
    more_due: bool,
    /// The rate limits of the webhooks the claim saw.
    limits: HashMap<String, Option<u32>>,
}

/// Runs until `shutdown` turns true; then hands back what waits, lets attempts
/// in flight finish for up to `drain`, and hands back those that did not.
pub fn run_workers(
    deliverer: Deliverer,
    shutdown: watch::Receiver<bool>,
    drain: Duration,
) -> impl Future<Output = ()> {
    // Taken now, not when the loop first runs, so that no publication misses it.
    let held = WorkQueue::new();
    let fresh = deliverer
        .store
        .take_fresh_deliveries(deliverer.settings.lease(), Arc::new(held.holdings.clone()));
    deliverer.store.wake_on_commits(deliverer.wake.clone());
    tokio::spawn(count_instances(
        deliverer.store.clone(),
        held.share.clone(),
        held.instances.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(probe_when_due(deliverer.clone(), shutdown.clone()));
    dispatch(deliverer, held, fresh, shutdown, drain)
}

/// Keeps `share` and `counted` up to date with the instances sharing the
/// queue, until shutdown.
async fn count_instances(
    store: Store,
    share: Arc<AtomicUsize>,
    counted: Arc<AtomicUsize>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match store.instances().await {
            Ok(instances) => {
                share.store(share_per_webhook(instances), Ordering::Relaxed);
                counted.store(instances, Ordering::Relaxed);
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "counting instances failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(COUNT_INSTANCES_EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Probes the webhooks hookhub switched off as their probes fall due, each
/// in a task of its own, until shutdown. A probe cut short by it is made
/// again once its hold (a lease) runs out.
async fn probe_when_due(deliverer: Deliverer, mut shutdown: watch::Receiver<bool>) {
    let mut probes = JoinSet::new();
    while !*shutdown.borrow() {
        let until = now_ms() + deliverer.settings.lease().as_millis() as i64;
        match deliverer.store.due_probes(until).await {
            Ok(due) => {
                for webhook_id in due {
                    let deliverer = deliverer.clone();
                    probes.spawn(async move {
                        if let Err(error) = deliverer.probe(&webhook_id).await {
                            tracing::warn!(
                                webhook = %webhook_id,
                                error = format!("{error:#}"),
                                "probing failed"
                            );
                        }
                    });
                }
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "finding due probes failed"),
        }
        while probes.try_join_next().is_some() {}
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn dispatch(
    deliverer: Deliverer,
    mut held: WorkQueue,
    mut fresh: mpsc::UnboundedReceiver<Vec<Job>>,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let mut tasks: JoinSet<(String, Sending)> = JoinSet::new();
    let mut claiming: Option<Claiming> = None;
    let mut refill = Refill::new();
    let mut poll_at = Instant::now() + POLL;
    let attempt_time = (deliverer.settings.timeout + RECORD_MARGIN).as_millis() as i64;
    while !*shutdown.borrow() {
        // Fresh deliveries arriving while a claim runs may take the room it was given.
        let (room, bytes_room) = held.holdings.room();
        if refill.start(claiming.is_none() && room > 0 && bytes_room > 0) {
            let held_now = held.holdings.per_webhook();
            let limits = held
                .limits
                .iter()
                .map(|(webhook_id, limit)| (webhook_id.clone(), Some(*limit)))
                .collect();
            let instances = held.instances.load(Ordering::Relaxed);
            claiming = Some(Claiming {
                task: tokio::spawn(claim(
                    deliverer.clone(),
                    held_now,
                    limits,
                    instances,
                    room,
                    bytes_room,
                )),
            });
        }
        let (ready, lapsed) = held.ready(now_ms() + attempt_time);
        for job in ready {
            let deliverer = deliverer.clone();
            tasks.spawn(async move {
                let sending = deliverer.send(&job).await;
                (job.delivery_id, sending)
            });
        }
        release_later(&deliverer, lapsed);
        let token_at = held.next_token_at();
        tokio::select! {
            Some(jobs) = fresh.recv() => jobs.into_iter().for_each(|job| held.hold_counted(job)),
            _ = deliverer.wake.notified() => refill.woken(),
            _ = tokio::time::sleep_until(poll_at) => {
                refill.woken();
                poll_at = Instant::now() + POLL;
            }
            // A rate-limited webhook may send again.
            _ = tokio::time::sleep_until(token_at.unwrap_or(poll_at)), if token_at.is_some() => {}
            Some(done) = tasks.join_next() => {
                finished(&mut held, done);
                refill.finished();
            }
            claimed = async { (&mut claiming.as_mut().expect("a claim").task).await },
                if claiming.is_some() => {
                claiming = None;
                poll_at = match claimed.map_err(anyhow::Error::from).and_then(|claimed| claimed) {
                    Ok(Claimed { jobs, more_due, limits }) => {
                        for (webhook_id, limit) in limits {
                            held.set_limit(&webhook_id, limit);
                        }
                        jobs.into_iter().for_each(|job| held.hold(job));
                        refill.landed(more_due);
                        Instant::now() + POLL
                    }
                    Err(error) => {
                        tracing::error!(error = format!("{error:#}"), "claiming deliveries failed");
                        Instant::now() + BACKOFF
                    }
                };
            }
            _ = shutdown.changed() => {}
        }
        while let Some(done) = tasks.try_join_next() {
            finished(&mut held, done);
            refill.finished();
        }
    }
    // Let a claim under way land, hand back what has not started, then wait for what has.
    fresh.close();
    while let Ok(jobs) = fresh.try_recv() {
        jobs.into_iter().for_each(|job| held.hold_counted(job));
    }
    if let Some(claiming) = claiming
        && let Ok(Ok(claimed)) = claiming.task.await
    {
        claimed.jobs.into_iter().for_each(|job| held.hold(job));
    }
    release(&deliverer, &held.hand_back_waiting()).await;
    drain_running(&deliverer, held, tasks, drain).await;
    deliverer.flush().await;
}

fn finished(held: &mut WorkQueue, done: Result<(String, Sending), tokio::task::JoinError>) {
    match done {
        Ok((delivery_id, sending)) => held.finish(&delivery_id, sending),
        Err(error) => tracing::error!(%error, "a delivery task failed"),
    }
}

/// Claims up to `room` due deliveries whose events add up to `bytes_room` at
/// most, and at most `HELD_PER_WEBHOOK` per webhook counting what `held`
/// (webhook -> deliveries) already holds; a rate-limited webhook (`limits`)
/// no more than half a lease's worth of its share (`held_at_most`), so that
/// what is held goes out within its lease. A webhook with a long backlog
/// fills up in one round and is skipped in the next, so that it cannot crowd
/// out the webhooks behind it.
async fn claim(
    deliverer: Deliverer,
    mut held: HashMap<String, usize>,
    mut limits: HashMap<String, Option<u32>>,
    instances: usize,
    room: usize,
    mut bytes_room: usize,
) -> anyhow::Result<Claimed> {
    let lease_seconds = deliverer.settings.lease().as_secs_f64();
    let at_most = |limits: &HashMap<String, Option<u32>>, webhook_id: &str| {
        held_at_most(
            limits.get(webhook_id).copied().flatten(),
            instances,
            lease_seconds,
        )
    };
    let mut claimed = Vec::new();
    let mut more_due = true;
    for _ in 0..ROUNDS {
        let limit = (room - claimed.len()).min(CANDIDATES);
        if limit == 0 || bytes_room == 0 {
            break;
        }
        let full: Vec<String> = held
            .iter()
            .filter(|(webhook_id, count)| **count >= at_most(&limits, webhook_id))
            .map(|(webhook_id, _)| webhook_id.clone())
            .collect();
        let candidates = deliverer.store.due_deliveries(&full, limit).await?;
        let mut wanted = Vec::new();
        for candidate in &candidates {
            limits.insert(candidate.webhook_id.clone(), candidate.rate_limit);
            let cap = at_most(&limits, &candidate.webhook_id);
            let count = held.entry(candidate.webhook_id.clone()).or_default();
            if *count < cap && candidate.bytes <= bytes_room {
                *count += 1;
                bytes_room -= candidate.bytes;
                wanted.push(candidate.id.clone());
            }
        }
        let lease_until = now_ms() + deliverer.settings.lease().as_millis() as i64;
        claimed.extend(deliverer.store.claim(&wanted, lease_until).await?);
        // Fewer than asked for, and none left behind: nothing more is due.
        if candidates.len() < limit && wanted.len() == candidates.len() {
            more_due = false;
            break;
        }
    }
    Ok(Claimed {
        jobs: claimed,
        more_due,
        limits,
    })
}

/// Deliveries held at most for a webhook sending `limit` a second (`None`:
/// no limit), shared among `instances`, with leases of `lease_seconds`.
fn held_at_most(limit: Option<u32>, instances: usize, lease_seconds: f64) -> usize {
    match limit {
        None => HELD_PER_WEBHOOK,
        Some(limit) => {
            let share = f64::from(limit) / instances.max(1) as f64;
            ((share * lease_seconds / 2.0) as usize).clamp(1, HELD_PER_WEBHOOK)
        }
    }
}

async fn drain_running(
    deliverer: &Deliverer,
    mut held: WorkQueue,
    mut tasks: JoinSet<(String, Sending)>,
    drain: Duration,
) {
    let deadline = tokio::time::Instant::now() + drain;
    while let Ok(Some(done)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {
        finished(&mut held, done);
    }
    tasks.abort_all();
    while let Some(done) = tasks.join_next().await {
        if let Ok((delivery_id, sending)) = done {
            held.finish(&delivery_id, sending);
        }
    }
    release(deliverer, &held.into_leases()).await;
}

/// Hands `leases` back beside the loop, which does not wait for the write.
fn release_later(deliverer: &Deliverer, leases: Vec<Lease>) {
    if leases.is_empty() {
        return;
    }
    let deliverer = deliverer.clone();
    tokio::spawn(async move { release(&deliverer, &leases).await });
}

async fn release(deliverer: &Deliverer, leases: &[Lease]) {
    if leases.is_empty() {
        return;
    }
    tracing::info!(count = leases.len(), "handing back claimed deliveries");
    if let Err(error) = deliverer.store.release(leases).await {
        tracing::error!(
            error = format!("{error:#}"),
            "handing back failed; the leases will run out"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::events::Event;

    fn job(id: &str, webhook_id: &str, lease_until: i64) -> Job {
        Job {
            delivery_id: id.into(),
            webhook_id: webhook_id.into(),
            attempt_count: 0,
            single_attempt: false,
            ordering_key: None,
            lease_until,
            event: Arc::new(Event {
                id: "evt_1".into(),
                event_type: "order.create".into(),
                data: serde_json::json!({}),
                change: None,
                created_at: 0,
            }),
            bytes: 2,
        }
    }

    #[test]
    fn instances_sharing_the_queue_share_each_webhooks_concurrency() {
        assert_eq!(share_per_webhook(1), MAX_IN_FLIGHT_PER_WEBHOOK);
        assert_eq!(share_per_webhook(3), MAX_IN_FLIGHT_PER_WEBHOOK / 3);
        assert!(3 * share_per_webhook(3) <= MAX_IN_FLIGHT_PER_WEBHOOK);
        assert_eq!(share_per_webhook(1_000), 1, "every instance may still send");
    }

    #[test]
    fn a_delivery_whose_lease_would_run_out_mid_attempt_is_handed_back_unsent() {
        let mut held = WorkQueue::new();
        held.hold(job("dlv_late", "wh_a", 1_000));
        held.hold(job("dlv_in_time", "wh_a", 5_000));
        let (ready, lapsed) = held.ready(2_000);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].delivery_id, "dlv_in_time");
        assert_eq!(lapsed, vec![job("dlv_late", "wh_a", 1_000).lease()]);
        assert_eq!(
            held.holdings.count("wh_a"),
            1,
            "the lapsed one is no longer held"
        );
    }

    #[test]
    fn one_webhook_runs_at_most_its_share_and_the_rest_wait() {
        let mut held = WorkQueue::new();
        for n in 0..MAX_IN_FLIGHT_PER_WEBHOOK + 3 {
            held.hold(job(&format!("dlv_{n}"), "wh_a", i64::MAX));
        }
        held.hold(job("dlv_other", "wh_b", i64::MAX));
        let (ready, _) = held.ready(0);
        let to_a = ready.iter().filter(|job| job.webhook_id == "wh_a").count();
        assert_eq!(to_a, MAX_IN_FLIGHT_PER_WEBHOOK);
        assert!(ready.iter().any(|job| job.webhook_id == "wh_b"));
        held.finish("dlv_0", Sending::Answered);
        let (ready, _) = held.ready(0);
        assert_eq!(ready.len(), 1, "a finished attempt frees one slot");
    }

    #[test]
    fn a_claim_comes_at_start_on_a_wake_up_and_after_a_batch_of_attempts() {
        let mut refill = Refill::new();
        assert!(!refill.start(false), "not while one runs or without room");
        assert!(refill.start(true), "the first look");
        refill.landed(false);
        assert!(!refill.start(true), "nothing asked for one since");
        for _ in 1..REFILL {
            refill.finished();
        }
        assert!(
            !refill.start(true),
            "one slot at a time is not worth a claim"
        );
        refill.finished();
        assert!(refill.start(true), "a batch of slots is");
        refill.landed(false);
        refill.woken();
        assert!(refill.start(true), "a commit or a retry falling due");
    }

    #[test]
    fn while_more_was_due_than_a_claim_took_each_freed_slot_is_refilled() {
        let mut refill = Refill::new();
        assert!(refill.start(true));
        refill.landed(true);
        refill.finished();
        assert!(refill.start(true));
        refill.landed(false);
        refill.finished();
        assert!(
            !refill.start(true),
            "back to batches once the backlog is taken"
        );
    }

    #[test]
    fn a_rate_limited_webhook_sends_at_its_pace_beside_the_others() {
        let mut held = WorkQueue::new();
        held.set_limit("wh_slow", Some(5));
        hold_many(
            &mut held,
            ["wh_slow".to_string(), "wh_fast".to_string()],
            10,
        );
        let start = Instant::now();
        let sent_to =
            |ready: &[Job], webhook: &str| ready.iter().filter(|j| j.webhook_id == webhook).count();
        let (ready, _) = held.ready_at(0, start);
        assert_eq!(sent_to(&ready, "wh_slow"), 1, "one token at a time at 5/s");
        assert_eq!(sent_to(&ready, "wh_fast"), 10, "the other is not held back");
        for job in &ready {
            held.finish(&job.delivery_id, Sending::Answered);
        }
        let next = held
            .next_token_at()
            .expect("the slow one waits for a token");
        assert_eq!(next - start, Duration::from_millis(200));
        let (ready, _) = held.ready_at(0, start + Duration::from_millis(100));
        assert!(ready.is_empty(), "not before its time");
        let (ready, _) = held.ready_at(0, start + Duration::from_millis(200));
        assert_eq!(sent_to(&ready, "wh_slow"), 1);

        // Shared by two instances, each sends half.
        held.instances.store(2, Ordering::Relaxed);
        held.finish(&ready[0].delivery_id, Sending::Answered);
        let (ready, _) = held.ready_at(0, start + Duration::from_millis(500));
        assert!(
            ready.is_empty(),
            "at 2.5/s the next is 400 ms after the last"
        );
        let (ready, _) = held.ready_at(0, start + Duration::from_millis(600));
        assert_eq!(ready.len(), 1);

        // No limit any more: the rest go at once.
        held.finish(&ready[0].delivery_id, Sending::Answered);
        held.set_limit("wh_slow", None);
        let (ready, _) = held.ready_at(0, start + Duration::from_millis(600));
        assert_eq!(ready.len(), 7);
        assert_eq!(held.next_token_at(), None);
    }

    #[test]
    fn a_rate_limited_webhook_holds_no_more_than_half_a_lease_of_its_pace() {
        assert_eq!(held_at_most(None, 1, 35.0), HELD_PER_WEBHOOK);
        assert_eq!(held_at_most(Some(5), 1, 35.0), 87);
        assert_eq!(held_at_most(Some(5), 3, 35.0), 29);
        assert_eq!(held_at_most(Some(1), 100, 35.0), 1, "always one");
        assert_eq!(held_at_most(Some(10_000), 1, 35.0), HELD_PER_WEBHOOK);
    }

    #[test]
    fn at_shutdown_what_waits_is_handed_back_and_what_runs_stays_held() {
        let mut held = WorkQueue::new();
        for n in 0..MAX_IN_FLIGHT_PER_WEBHOOK + 2 {
            held.hold(job(&format!("dlv_{n}"), "wh_a", 9_000 + n as i64));
        }
        let (running, _) = held.ready(0);
        let waiting = held.hand_back_waiting();
        assert_eq!(waiting.len(), 2);
        assert!(waiting.iter().all(|lease| {
            !running
                .iter()
                .any(|job| job.delivery_id == lease.delivery_id)
        }));
        assert_eq!(held.holdings.count("wh_a"), MAX_IN_FLIGHT_PER_WEBHOOK);
        held.finish(&running[0].delivery_id, Sending::Answered);
        let cut_off = held.into_leases();
        assert_eq!(
            cut_off.len(),
            MAX_IN_FLIGHT_PER_WEBHOOK - 1,
            "the rest ran on"
        );
    }

    /// Holds `count` deliveries to each of `webhooks`.
    fn hold_many(held: &mut WorkQueue, webhooks: impl IntoIterator<Item = String>, count: usize) {
        for webhook_id in webhooks {
            for n in 0..count {
                held.hold(job(&format!("dlv_{webhook_id}_{n}"), &webhook_id, i64::MAX));
            }
        }
    }

    #[test]
    fn many_webhooks_with_work_share_the_slots_and_a_newcomer_still_gets_its_part() {
        let mut held = WorkQueue::new();
        let hung: Vec<String> = (0..60).map(|n| format!("wh_hung_{n}")).collect();
        hold_many(&mut held, hung.clone(), 40);
        let (ready, _) = held.ready(0);
        for webhook_id in &hung {
            let running = ready.iter().filter(|j| &j.webhook_id == webhook_id).count();
            assert!(running >= MAX_IN_FLIGHT / 60, "{webhook_id} runs {running}");
        }
        assert!(held.running_total <= 2 * MAX_IN_FLIGHT);

        // The hung ones never answer; a healthy webhook's deliveries arrive.
        hold_many(&mut held, ["wh_healthy".to_string()], 200);
        let (ready, _) = held.ready(0);
        assert_eq!(ready.len(), MAX_IN_FLIGHT / 61, "its fair part at once");
        assert!(ready.iter().all(|j| j.webhook_id == "wh_healthy"));
        assert!(held.running_total <= 2 * MAX_IN_FLIGHT);
    }

    #[test]
    fn a_webhook_that_timed_out_runs_one_at_a_time_until_it_answers_again() {
        let mut held = WorkQueue::new();
        hold_many(&mut held, ["wh_a".to_string()], 40);
        let (ready, _) = held.ready(0);
        assert_eq!(ready.len(), MAX_IN_FLIGHT_PER_WEBHOOK);
        for job in &ready {
            held.finish(&job.delivery_id, Sending::TimedOut);
        }
        let (ready, _) = held.ready(0);
        assert_eq!(ready.len(), 1, "slow: one at a time");
        held.finish(&ready[0].delivery_id, Sending::Answered);
        let (ready, _) = held.ready(0);
        assert_eq!(ready.len(), MAX_IN_FLIGHT_PER_WEBHOOK, "answering again");
    }

    #[test]
    fn slow_webhooks_together_hold_at_most_half_the_slots() {
        let mut held = WorkQueue::new();
        let slow: Vec<String> = (0..MAX_IN_FLIGHT).map(|n| format!("wh_slow_{n}")).collect();
        held.slow.extend(slow.iter().cloned());
        hold_many(&mut held, slow, 2);
        let (started, _) = held.ready(0);
        assert_eq!(started.len(), SLOW_SLOTS);
        hold_many(&mut held, ["wh_fast".to_string()], 5);
        let (ready, _) = held.ready(0);
        assert_eq!(ready.len(), 5, "the rest of the slots are the others'");
        assert_eq!(ready[0].webhook_id, "wh_fast");
        held.finish(&started[0].delivery_id, Sending::TimedOut);
        assert_eq!(held.slow_running, SLOW_SLOTS - 1, "a slow slot is free");
        let (ready, _) = held.ready(0);
        assert_eq!(ready.len(), 1, "and taken by a slow webhook");
    }
}
