//! The transactional outbox, planned the same on every backend: each event
//! gets an id and one delivery per subscribed active webhook, all written in
//! the transaction that accepts the event, so that an acknowledged event is
//! never lost.
//!
//! A transaction writes at most `INLINE_DELIVERIES` deliveries: the events
//! past that (a batch of 1,000 events to 1,000 webhooks would be a million)
//! are written with a `fanouts` row instead, in the same transaction, and
//! their deliveries follow in slices of their own (`fan_out`), so that one
//! publisher never holds the database for everyone else, and nothing
//! accepted is lost: the `fanouts` row is durable with its event.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, mpsc, oneshot};

use super::{Job, Lease, NewEvent, WorkerRoom, new_id};
use crate::events::{Envelope, Event, subscribed};
use crate::filter::Filter;
use crate::model::{EventAccepted, QueuedDelivery};
use crate::time::now_ms;

/// An event written to the outbox and the deliveries it queued.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub event_id: String,
    pub created_at: i64,
    pub deliveries: Vec<QueuedDelivery>,
    /// Beside each delivery: where it waits.
    pub placements: Vec<Placement>,
    /// The event's data as stored, in bytes.
    pub bytes: usize,
    /// Not written: its idempotency key names an event accepted before
    /// (`event_id`), which queued this many deliveries.
    pub duplicate_of: Option<usize>,
    /// Deliveries to write after this transaction (see the module's notes);
    /// if any, `deliveries` is empty.
    pub deferred: usize,
}

impl Enqueued {
    pub fn accepted(&self) -> EventAccepted {
        EventAccepted {
            id: self.event_id.clone(),
            deliveries: self.duplicate_of.unwrap_or(self.queued()),
            duplicate: self.duplicate_of.is_some(),
        }
    }

    /// The deliveries it queued, written now or later.
    pub fn queued(&self) -> usize {
        self.deliveries.len() + self.deferred
    }

    /// Whether some of its deliveries were not leased to this process's
    /// workers, and wait in the outbox to be claimed (due now, or at their
    /// turn in their ordering key, which may be now).
    pub fn waits_in_outbox(&self) -> bool {
        self.placements
            .iter()
            .any(|placement| matches!(placement, Placement::Due | Placement::Waiting))
    }
}

/// Where a new delivery waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Leased to this process's workers until then (Unix ms), handed to them on commit.
    Leased(i64),
    /// In the outbox, due now, for any worker to claim.
    Due,
    /// In the outbox, not due: the deliveries of its ordering key accepted
    /// before it go first (`store::sql::ordering` makes it due in its turn).
    Waiting,
    /// Paused: hookhub has its webhook switched off (`Subscriber::paused`);
    /// released when the webhook is back.
    Paused,
}

/// Deliveries one publishing transaction writes at most (a tenth of a second
/// or so of SQLite's writing); the events past them are fanned out after it.
pub const INLINE_DELIVERIES: usize = 5_000;

/// A webhook as publishing sees it.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: String,
    /// The event patterns it subscribes to.
    pub patterns: Vec<String>,
    /// hookhub switched it off: its deliveries are recorded, paused.
    pub paused: bool,
    pub created_at: i64,
    /// Only events this matches go to it.
    pub filter: Option<Arc<Filter>>,
    /// Its deliveries a second at most: they wait in the outbox for the
    /// workers to claim them (with the limit), never straight to them.
    pub rate_limit: Option<u32>,
}

impl Subscriber {
    /// Whether an event of `event_type` goes to it; `envelope` is the
    /// event as filters see it (made when any subscriber has a filter).
    fn takes(&self, event_type: &str, envelope: Option<&Envelope>) -> bool {
        subscribed(&self.patterns, event_type)
            && match (&self.filter, envelope) {
                (Some(filter), Some(envelope)) => filter.matches(envelope),
                _ => true,
            }
    }
}

/// Filters compiled once: by their text, shared by the webhooks that have
/// the same, and read again only when a webhook's filter changes.
static COMPILED: std::sync::LazyLock<Mutex<HashMap<String, Arc<Filter>>>> =
    std::sync::LazyLock::new(Mutex::default);

/// Compiled filters kept at most; past it, the cache starts again.
const COMPILED_AT_MOST: usize = 10_000;

/// A stored filter (`webhooks.filter`), compiled.
pub fn compiled(text: &str) -> anyhow::Result<Arc<Filter>> {
    let mut compiled = COMPILED.lock().expect("compiled filters");
    if let Some(filter) = compiled.get(text) {
        return Ok(filter.clone());
    }
    let value: serde_json::Value = serde_json::from_str(text)?;
    let filter = Arc::new(
        Filter::compile(&value)
            .map_err(|invalid| anyhow::anyhow!("a stored filter is invalid: {invalid}"))?,
    );
    if compiled.len() >= COMPILED_AT_MOST {
        compiled.clear();
    }
    compiled.insert(text.to_string(), filter.clone());
    Ok(filter)
}

/// An event's row as written.
pub struct EventColumns<'a> {
    pub event_type: &'a str,
    pub data: String,
    pub changed_fields: Option<String>,
    pub previous: Option<String>,
    /// Its ordering key and its place in it.
    pub ordering_key: Option<&'a str>,
    pub key_seq: Option<i64>,
}

/// The places of a transaction's keyed events in their keys.
#[derive(Debug, Default)]
pub struct Places {
    /// Each event's place in its key, in the order of the events.
    pub seqs: Vec<Option<i64>>,
    /// Keys with earlier events still waiting to be fanned out: the events
    /// of these keys wait with them (`fanouts`), so that none overtakes.
    pub deferred_keys: HashSet<String>,
}

/// One delivery row to write.
pub struct DeliveryColumns<'a> {
    pub id: &'a str,
    pub webhook_id: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub status: &'static str,
    pub next_attempt_at: Option<i64>,
    pub lease_until: Option<i64>,
    pub ordering_key: Option<&'a str>,
    pub key_seq: Option<i64>,
}

impl<'a> DeliveryColumns<'a> {
    /// The (webhook, ordering key) whose head may now be this delivery, if
    /// it waits for its turn.
    fn waits_in(&self) -> Option<(&'a str, &'a str)> {
        match (self.status, self.next_attempt_at, self.ordering_key) {
            ("pending", None, Some(key)) => Some((self.webhook_id, key)),
            _ => None,
        }
    }
}

/// The distinct (webhook, ordering key) pairs that `rows` wait in, sorted.
pub fn waiting_in<'a>(rows: &[DeliveryColumns<'a>]) -> Vec<(&'a str, &'a str)> {
    let mut pairs: Vec<_> = rows.iter().filter_map(DeliveryColumns::waits_in).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Asked per delivery with its webhook and its event's size: until when the
/// delivery is leased to this process's workers, if it is.
pub type Leasing<'a> = dyn FnMut(&str, usize) -> Option<i64> + Send + 'a;

/// What to write for `events`: their rows and, per event, its id and its
/// deliveries to the subscribed ones of `webhooks`, each leased as `lease`
/// says, waiting for its turn in its ordering key (`places`), or paused.
pub fn plan<'a>(
    webhooks: &[Subscriber],
    events: &[&'a NewEvent],
    places: &Places,
    lease: &mut Leasing<'_>,
) -> anyhow::Result<(Vec<EventColumns<'a>>, Vec<Enqueued>)> {
    let now = now_ms();
    let filtering = webhooks.iter().any(|webhook| webhook.filter.is_some());
    let mut rows = Vec::with_capacity(events.len());
    let mut enqueued = Vec::with_capacity(events.len());
    let mut inline = 0;
    let mut deferred_keys: HashSet<&str> =
        places.deferred_keys.iter().map(String::as_str).collect();
    for (n, event) in events.iter().enumerate() {
        let ordering_key = event.ordering_key.as_deref();
        let (changed_fields, previous) = match &event.change {
            Some((fields, previous)) => (
                Some(serde_json::to_string(fields)?),
                Some(serde_json::to_string(previous)?),
            ),
            None => (None, None),
        };
        let data = serde_json::to_string(&event.data)?;
        let bytes = data.len();
        let envelope = filtering
            .then(|| Envelope::new(&event.event_type, now, &event.data, event.change.as_ref()));
        let targets = || {
            webhooks.iter().filter(|webhook| {
                webhook.takes(&event.event_type, envelope.as_ref())
                    && event.about_webhook.as_ref() != Some(&webhook.id)
            })
        };
        rows.push(EventColumns {
            event_type: &event.event_type,
            data,
            changed_fields,
            previous,
            ordering_key,
            key_seq: places.seqs.get(n).copied().flatten(),
        });
        // hookhub's own events about a webhook are few and always written now.
        let count = targets().count();
        let behind = ordering_key.is_some_and(|key| deferred_keys.contains(key));
        let deferred =
            (behind || inline + count > INLINE_DELIVERIES) && event.about_webhook.is_none();
        if let (true, Some(key)) = (deferred, ordering_key) {
            deferred_keys.insert(key);
        }
        let (deliveries, placements) = if deferred {
            (Vec::new(), Vec::new())
        } else {
            inline += count;
            targets()
                .map(|webhook| {
                    let delivery = QueuedDelivery {
                        id: new_id("dlv"),
                        webhook_id: webhook.id.clone(),
                    };
                    let placement = if webhook.paused {
                        Placement::Paused
                    } else if ordering_key.is_some() {
                        Placement::Waiting
                    } else if webhook.rate_limit.is_some() {
                        Placement::Due
                    } else {
                        lease(&webhook.id, bytes).map_or(Placement::Due, Placement::Leased)
                    };
                    (delivery, placement)
                })
                .unzip()
        };
        enqueued.push(Enqueued {
            event_id: new_id("evt"),
            created_at: now,
            deliveries,
            placements,
            bytes,
            duplicate_of: None,
            deferred: if deferred { count } else { 0 },
        });
    }
    Ok((rows, enqueued))
}

/// An event whose deliveries were deferred (`INLINE_DELIVERIES`), as
/// `fan_out` finds it.
pub struct Deferred {
    pub event_id: String,
    pub event_type: String,
    pub created_at: i64,
    /// Its data and change as stored (JSON), read only when a filter asks.
    pub data: String,
    pub changed_fields: Option<String>,
    pub previous: Option<String>,
    /// Its ordering key and its place in it.
    pub ordering_key: Option<String>,
    pub key_seq: Option<i64>,
}

impl Deferred {
    /// The event's data and change, parsed.
    fn parsed(&self) -> anyhow::Result<(serde_json::Value, Option<Change>)> {
        let data = serde_json::from_str(&self.data)?;
        let change = match (&self.changed_fields, &self.previous) {
            (Some(fields), Some(previous)) => Some((
                serde_json::from_str(fields)?,
                serde_json::from_str(previous)?,
            )),
            _ => None,
        };
        Ok((data, change))
    }
}

type Change = (Vec<String>, serde_json::Map<String, serde_json::Value>);

/// The delivery rows of a deferred event: one per webhook that takes it and
/// existed when it was accepted, due now, waiting for its turn in its
/// ordering key, or paused; none leased.
pub fn deferred_rows<'a>(
    webhooks: &'a [Subscriber],
    event: &'a Deferred,
    ids: &'a mut Vec<String>,
) -> anyhow::Result<Vec<DeliveryColumns<'a>>> {
    let parsed = match webhooks.iter().any(|webhook| webhook.filter.is_some()) {
        true => Some(event.parsed()?),
        false => None,
    };
    let envelope = parsed.as_ref().map(|(data, change)| {
        Envelope::new(&event.event_type, event.created_at, data, change.as_ref())
    });
    let targets: Vec<&Subscriber> = webhooks
        .iter()
        .filter(|webhook| {
            webhook.created_at <= event.created_at
                && webhook.takes(&event.event_type, envelope.as_ref())
        })
        .collect();
    *ids = targets.iter().map(|_| new_id("dlv")).collect();
    Ok(targets
        .into_iter()
        .zip(ids.iter())
        .map(|(webhook, id)| DeliveryColumns {
            id,
            webhook_id: &webhook.id,
            event_id: &event.event_id,
            event_type: &event.event_type,
            status: if webhook.paused { "paused" } else { "pending" },
            next_attempt_at: (!webhook.paused && event.ordering_key.is_none()).then(now_ms),
            lease_until: None,
            ordering_key: event.ordering_key.as_deref(),
            key_seq: event.key_seq,
        })
        .collect())
}

/// The event an idempotency key was first accepted with.
#[derive(Debug, Clone, PartialEq)]
pub struct Original {
    pub event_id: String,
    pub deliveries: usize,
}

/// The distinct idempotency keys of `events`, in the order they first come.
pub fn distinct_keys<'a>(events: &[&'a NewEvent]) -> Vec<&'a str> {
    let mut keys: Vec<&str> = Vec::new();
    for key in events.iter().filter_map(|e| e.idempotency_key.as_deref()) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Where an event's answer comes from.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    /// Written now: the `n`th event planned.
    Planned(usize),
    /// Its key came earlier in this transaction, with the `n`th event planned.
    SameAs(usize),
    /// Its key names an event accepted before.
    Taken(Original),
}

/// A transaction's events sorted by their idempotency keys, once each key
/// was claimed or found taken: the events to write, and every event's answer.
pub struct Keyed<'a> {
    pub fresh: Vec<&'a NewEvent>,
    answers: Vec<Answer>,
}

impl<'a> Keyed<'a> {
    /// `taken` holds the keys that named an event accepted within the window
    /// (every other key of `events` was claimed by this transaction).
    pub fn new(events: &[&'a NewEvent], taken: &HashMap<String, Original>) -> Self {
        let mut fresh = Vec::new();
        let mut answers = Vec::with_capacity(events.len());
        let mut claimed: HashMap<&str, usize> = HashMap::new();
        for &event in events {
            let key = event.idempotency_key.as_deref();
            let answer = match key {
                Some(key) if taken.contains_key(key) => Answer::Taken(taken[key].clone()),
                Some(key) if claimed.contains_key(key) => Answer::SameAs(claimed[key]),
                _ => {
                    if let Some(key) = key {
                        claimed.insert(key, fresh.len());
                    }
                    fresh.push(event);
                    Answer::Planned(fresh.len() - 1)
                }
            };
            answers.push(answer);
        }
        Self { fresh, answers }
    }

    /// The keys this transaction claimed, with the event each now names and
    /// how many deliveries it queued.
    pub fn claimed<'p>(&self, planned: &'p [Enqueued]) -> Vec<(&'a str, &'p str, usize)> {
        self.fresh
            .iter()
            .zip(planned)
            .filter_map(|(event, enqueued)| {
                let key = event.idempotency_key.as_deref()?;
                Some((key, enqueued.event_id.as_str(), enqueued.queued()))
            })
            .collect()
    }

    /// Every event's outcome in the order given: the planned ones, and the
    /// duplicates as the events they repeat, with nothing to deliver.
    pub fn answers(self, planned: Vec<Enqueued>) -> Vec<Enqueued> {
        // Without duplicates, the answers are the planned events in order.
        if self.answers.len() == planned.len() {
            return planned;
        }
        let now = now_ms();
        let duplicate = |event_id: &str, deliveries: usize| Enqueued {
            event_id: event_id.to_string(),
            created_at: now,
            deliveries: Vec::new(),
            placements: Vec::new(),
            bytes: 0,
            duplicate_of: Some(deliveries),
            deferred: 0,
        };
        self.answers
            .iter()
            .map(|answer| match answer {
                Answer::Planned(n) => planned[*n].clone(),
                Answer::SameAs(n) => duplicate(&planned[*n].event_id, planned[*n].queued()),
                Answer::Taken(original) => duplicate(&original.event_id, original.deliveries),
            })
            .collect()
    }
}

/// The delivery rows of planned events, created at `now`.
pub fn delivery_rows<'a>(
    rows: &[EventColumns<'a>],
    enqueued: &'a [Enqueued],
    now: i64,
) -> Vec<DeliveryColumns<'a>> {
    rows.iter()
        .zip(enqueued)
        .flat_map(|(event, enqueued)| {
            enqueued.deliveries.iter().zip(&enqueued.placements).map(
                move |(delivery, placement)| {
                    let (status, next_attempt_at, lease_until) = match *placement {
                        Placement::Leased(until) => ("pending", Some(now), Some(until)),
                        Placement::Due => ("pending", Some(now), None),
                        Placement::Waiting => ("pending", None, None),
                        Placement::Paused => ("paused", None, None),
                    };
                    DeliveryColumns {
                        id: &delivery.id,
                        webhook_id: &delivery.webhook_id,
                        event_id: &enqueued.event_id,
                        event_type: event.event_type,
                        status,
                        next_attempt_at,
                        lease_until,
                        ordering_key: event.ordering_key,
                        key_seq: event.key_seq,
                    }
                },
            )
        })
        .collect()
}

/// A request to publish, for a backend's group committer, answered once
/// its group is committed.
pub struct Publication {
    pub events: Vec<NewEvent>,
    pub done: oneshot::Sender<anyhow::Result<Vec<EventAccepted>>>,
}

impl Publication {
    /// Hands `events` to the committers behind `publisher` and waits for their answer.
    pub async fn send(
        publisher: &mpsc::Sender<Publication>,
        events: Vec<NewEvent>,
    ) -> anyhow::Result<Vec<EventAccepted>> {
        let (done, committed) = oneshot::channel();
        publisher
            .send(Publication { events, done })
            .await
            .map_err(|_| anyhow::anyhow!("the store is closed"))?;
        committed.await.context("the store is closed")?
    }
}

/// The workers of this process, when they take published deliveries
/// straight from the publisher: such deliveries are written already leased
/// to them and handed over once committed, with no claim in between.
#[derive(Clone, Default)]
pub struct FreshDeliveries {
    taker: Arc<Mutex<Option<Taker>>>,
    /// Woken when published deliveries wait in the outbox, if set.
    wake: Arc<Mutex<Option<Arc<Notify>>>>,
}

#[derive(Clone)]
struct Taker {
    jobs: mpsc::UnboundedSender<Vec<Job>>,
    lease: Duration,
    room: Arc<dyn WorkerRoom>,
}

impl FreshDeliveries {
    /// From now on, hands published deliveries that `room` has room for,
    /// leased for `lease`, to the receiver returned (until it is dropped).
    pub fn take(
        &self,
        lease: Duration,
        room: Arc<dyn WorkerRoom>,
    ) -> mpsc::UnboundedReceiver<Vec<Job>> {
        let (jobs, taken) = mpsc::unbounded_channel();
        *self.taker.lock().expect("fresh deliveries") = Some(Taker { jobs, lease, room });
        taken
    }

    /// From now on, wakes `wake` when published deliveries the workers had
    /// no room for wait in the outbox.
    pub fn wake_for_the_rest(&self, wake: Arc<Notify>) {
        *self.wake.lock().expect("fresh deliveries") = Some(wake);
    }

    /// Runs `transaction` with room reserved in this process's workers as it
    /// leases them deliveries; once it committed, hands them the jobs it
    /// returns and returns the leases of those they no longer take (stopped
    /// meanwhile: to be released); if it failed, gives the room back.
    pub async fn leasing<T>(
        &self,
        transaction: impl AsyncFnOnce(&mut Reservation) -> anyhow::Result<(T, Vec<Job>)>,
    ) -> anyhow::Result<(T, Vec<Lease>)> {
        let mut reservation = Reservation::new(self);
        match transaction(&mut reservation).await {
            Ok((done, jobs)) => Ok((done, reservation.hand_over_jobs(jobs))),
            Err(error) => {
                reservation.give_back();
                Err(error)
            }
        }
    }

    /// Wakes the workers for deliveries that wait in the outbox.
    pub fn wake_workers(&self) {
        if let Some(wake) = self.wake.lock().expect("fresh deliveries").as_ref() {
            wake.notify_one();
        }
    }

    fn taker(&self) -> Option<Taker> {
        let taker = self.taker.lock().expect("fresh deliveries");
        taker
            .as_ref()
            .filter(|taker| !taker.jobs.is_closed())
            .cloned()
    }
}

/// The deliveries of one transaction leased to this process's workers, as
/// far as they have room: handed over once the transaction commits, given
/// back to the room if it does not.
pub struct Reservation {
    taker: Option<Taker>,
    wake: Option<Arc<Notify>>,
    lease_until: i64,
    /// Per webhook, deliveries and bytes, to give back should the commit fail.
    reserved: HashMap<String, (usize, usize)>,
}

impl Reservation {
    pub fn new(fresh: &FreshDeliveries) -> Self {
        let taker = fresh.taker();
        let lease_until = now_ms() + taker.as_ref().map_or(0, |t| t.lease.as_millis() as i64);
        Self {
            taker,
            wake: fresh.wake.lock().expect("fresh deliveries").clone(),
            lease_until,
            reserved: HashMap::new(),
        }
    }

    /// Until when a delivery to `webhook_id` of an event of `bytes` is
    /// leased to this process's workers; `None` if they have no room.
    pub fn lease(&mut self, webhook_id: &str, bytes: usize) -> Option<i64> {
        if !self.taker.as_ref()?.room.reserve(webhook_id, bytes) {
            return None;
        }
        let (count, held_bytes) = self.reserved.entry(webhook_id.to_string()).or_default();
        *count += 1;
        *held_bytes += bytes;
        Some(self.lease_until)
    }

    /// Until when the deliveries it leases are leased, if the workers take any.
    pub fn lease_until(&self) -> Option<i64> {
        self.taker.as_ref().map(|_| self.lease_until)
    }

    /// The transaction failed: nothing was leased.
    pub fn give_back(self) {
        if let Some(taker) = &self.taker {
            for (webhook_id, (count, bytes)) in &self.reserved {
                taker.room.give_back(webhook_id, *count, *bytes);
            }
        }
    }

    /// The transaction committed: the leased deliveries of `events` go to
    /// the workers. Returns the ids of those the workers, stopped meanwhile,
    /// did not take: they must be released.
    pub fn hand_over(self, events: Vec<NewEvent>, enqueued: &[Enqueued]) -> Vec<Lease> {
        if let Some(wake) = &self.wake
            && enqueued.iter().any(Enqueued::waits_in_outbox)
        {
            wake.notify_one();
        }
        self.hand_over_jobs(fresh_jobs(events, enqueued))
    }

    /// The transaction committed: `jobs`, leased by it, go to the workers.
    /// Returns the leases of those the workers, stopped meanwhile, did not
    /// take: they must be released.
    pub fn hand_over_jobs(self, jobs: Vec<Job>) -> Vec<Lease> {
        // Nothing to hand over need not wake the workers.
        let Some(taker) = self.taker.filter(|_| !jobs.is_empty()) else {
            return Vec::new();
        };
        match taker.jobs.send(jobs) {
            Ok(()) => Vec::new(),
            Err(unsent) => unsent.0.iter().map(Job::lease).collect(),
        }
    }
}

/// The deliveries of published events leased to the workers, as they take
/// them; the deliveries of one event share it.
fn fresh_jobs(events: Vec<NewEvent>, enqueued: &[Enqueued]) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (event, enqueued) in events.into_iter().zip(enqueued) {
        let leased: Vec<_> = enqueued
            .deliveries
            .iter()
            .zip(&enqueued.placements)
            .filter_map(|(delivery, placement)| match *placement {
                Placement::Leased(until) => Some((delivery, until)),
                Placement::Due | Placement::Waiting | Placement::Paused => None,
            })
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
            ordering_key: None,
            lease_until,
            event: event.clone(),
            bytes: enqueued.bytes,
        }));
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

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
            placements: vec![
                Placement::Leased(5_000),
                Placement::Leased(5_000),
                Placement::Due,
            ],
            bytes: 8,
            duplicate_of: None,
            deferred: 0,
        };
        let jobs = fresh_jobs(vec![NewEvent::sample()], &[enqueued]);
        assert_eq!(jobs.len(), 2, "the unleased delivery waits in the outbox");
        assert!(Arc::ptr_eq(&jobs[0].event, &jobs[1].event));
        assert_eq!(jobs[0].event.data, serde_json::json!({"id": 1}));
    }

    #[test]
    fn a_keyed_event_waits_for_its_turn_and_defers_behind_a_deferred_one_of_its_key() {
        let webhooks: Vec<Subscriber> = (0..10)
            .map(|n| Subscriber {
                id: format!("wh_{n}"),
                patterns: vec!["order.*".into()],
                paused: n == 0,
                created_at: 0,
                filter: None,
                rate_limit: None,
            })
            .collect();
        let keyed = |key: &str| NewEvent {
            ordering_key: Some(key.into()),
            ..NewEvent::sample()
        };
        // 499 events nearly fill the transaction; then one of `c`, whose key
        // waits to be fanned out since an earlier transaction, one of `b`
        // that fills it, and one of `a` past it.
        let mut events = vec![NewEvent::sample(); INLINE_DELIVERIES / 10 - 1];
        events.extend([keyed("c"), keyed("b"), keyed("a")]);
        let events: Vec<&NewEvent> = events.iter().collect();
        let places = Places {
            seqs: (0..events.len() as i64).map(Some).collect(),
            deferred_keys: HashSet::from(["c".to_string()]),
        };
        let (rows, planned) = plan(&webhooks, &events, &places, &mut |_, _| Some(1)).unwrap();
        let [c, b, a] = [&planned[499], &planned[500], &planned[501]];
        assert_eq!(rows[501].key_seq, Some(501));
        assert_eq!(c.deferred, 10, "behind an earlier event of its key");
        assert_eq!(b.deferred, 0, "b fits");
        assert_eq!(b.placements[0], Placement::Paused);
        assert!(b.placements[1..].iter().all(|p| *p == Placement::Waiting));
        assert_eq!(a.deferred, 10, "past what the transaction writes");
        let unkeyed = &planned[0];
        assert_eq!(unkeyed.placements[1], Placement::Leased(1));
    }

    #[test]
    fn a_transaction_writes_a_bounded_number_of_deliveries_and_defers_the_rest() {
        let webhooks: Vec<Subscriber> = (0..20)
            .map(|n| Subscriber {
                id: format!("wh_{n}"),
                patterns: vec!["order.*".into()],
                paused: false,
                created_at: 0,
                filter: None,
                rate_limit: None,
            })
            .collect();
        let events = vec![NewEvent::sample(); 1000];
        let events: Vec<&NewEvent> = events.iter().collect();
        let (rows, planned) =
            plan(&webhooks, &events, &Places::default(), &mut |_, _| None).unwrap();
        assert_eq!(rows.len(), 1000, "every event is written");
        let now: usize = planned.iter().map(|e| e.deliveries.len()).sum();
        assert_eq!(now, INLINE_DELIVERIES);
        let inline = INLINE_DELIVERIES / 20;
        assert!(planned[..inline].iter().all(|e| e.deferred == 0));
        assert!(
            planned[inline..]
                .iter()
                .all(|e| e.deferred == 20 && e.deliveries.is_empty())
        );
        assert!(planned.iter().all(|e| e.accepted().deliveries == 20));

        // Later, each deferred event goes to the webhooks that existed when
        // it was accepted.
        let mut later = webhooks.clone();
        later.push(Subscriber {
            id: "wh_new".into(),
            created_at: i64::MAX,
            ..webhooks[0].clone()
        });
        later[0].paused = true;
        let deferred = Deferred {
            event_id: planned[999].event_id.clone(),
            event_type: "order.create".into(),
            created_at: planned[999].created_at,
            data: r#"{"id": 1}"#.into(),
            changed_fields: None,
            previous: None,
            ordering_key: None,
            key_seq: None,
        };
        let mut ids = Vec::new();
        let rows = deferred_rows(&later, &deferred, &mut ids).unwrap();
        assert_eq!(rows.len(), 20);
        assert_eq!((rows[0].status, rows[0].next_attempt_at), ("paused", None));
        assert!(
            rows[1..]
                .iter()
                .all(|r| r.status == "pending" && r.lease_until.is_none())
        );
    }

    #[test]
    fn a_filter_keeps_the_events_it_does_not_match_from_its_webhook_now_and_when_fanned_out() {
        let filter = r#"{"data.priority": "P1"}"#;
        let webhooks = [
            Subscriber {
                id: "wh_pager".into(),
                patterns: vec!["order.*".into()],
                paused: false,
                created_at: 0,
                filter: Some(compiled(filter).unwrap()),
                rate_limit: None,
            },
            Subscriber {
                id: "wh_all".into(),
                patterns: vec!["order.*".into()],
                paused: false,
                created_at: 0,
                filter: None,
                rate_limit: None,
            },
        ];
        let event = |priority: &str| NewEvent {
            data: serde_json::json!({"priority": priority}),
            ..NewEvent::sample()
        };
        let events = [event("P1"), event("P3")];
        let events: Vec<&NewEvent> = events.iter().collect();
        let (_, planned) = plan(&webhooks, &events, &Places::default(), &mut |_, _| None).unwrap();
        let to = |planned: &Enqueued| -> Vec<String> {
            planned
                .deliveries
                .iter()
                .map(|d| d.webhook_id.clone())
                .collect()
        };
        assert_eq!(to(&planned[0]), ["wh_pager", "wh_all"]);
        assert_eq!(to(&planned[1]), ["wh_all"]);
        assert!(
            Arc::ptr_eq(
                &compiled(filter).unwrap(),
                webhooks[0].filter.as_ref().unwrap()
            ),
            "compiled once"
        );

        let deferred = |priority: &str| Deferred {
            event_id: "evt_late".into(),
            event_type: "order.create".into(),
            created_at: 1,
            data: format!(r#"{{"priority": "{priority}"}}"#),
            changed_fields: None,
            previous: None,
            ordering_key: None,
            key_seq: None,
        };
        for (priority, count) in [("P1", 2), ("P3", 1)] {
            let mut ids = Vec::new();
            let event = deferred(priority);
            assert_eq!(
                deferred_rows(&webhooks, &event, &mut ids).unwrap().len(),
                count
            );
        }
    }

    #[test]
    fn a_key_taken_or_given_earlier_answers_with_the_first_event_and_writes_nothing() {
        let keyed = |key: Option<&str>| NewEvent {
            idempotency_key: key.map(str::to_string),
            about_webhook: None,
            ..NewEvent::sample()
        };
        let events = [
            keyed(Some("old")),
            keyed(Some("new")),
            keyed(None),
            keyed(Some("new")),
        ];
        let events: Vec<&NewEvent> = events.iter().collect();
        assert_eq!(distinct_keys(&events), ["old", "new"]);
        let original = Original {
            event_id: "evt_old".into(),
            deliveries: 3,
        };
        let taken = HashMap::from([("old".to_string(), original)]);
        let keyed = Keyed::new(&events, &taken);
        assert_eq!(keyed.fresh.len(), 2, "one new key, one event without");
        let webhooks = [Subscriber {
            id: "wh_a".into(),
            patterns: vec!["*".into()],
            paused: false,
            created_at: 0,
            filter: None,
            rate_limit: None,
        }];
        let (_, planned) = plan(&webhooks, &keyed.fresh, &Places::default(), &mut |_, _| {
            None
        })
        .unwrap();
        let first_new = planned[0].event_id.clone();
        assert_eq!(keyed.claimed(&planned), [("new", first_new.as_str(), 1)]);
        let answers: Vec<EventAccepted> = keyed
            .answers(planned)
            .iter()
            .map(Enqueued::accepted)
            .collect();
        let accepted = |id: &str, deliveries, duplicate| EventAccepted {
            id: id.into(),
            deliveries,
            duplicate,
        };
        assert_eq!(answers[0], accepted("evt_old", 3, true));
        assert_eq!(answers[1], accepted(&first_new, 1, false));
        assert!(!answers[2].duplicate);
        assert_eq!(answers[3], accepted(&first_new, 1, true));
    }
}
