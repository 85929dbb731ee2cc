//! Delivering events: workers claim due deliveries from the outbox, send them
//! signed, and record every attempt. Handlers only enqueue and wake them.

mod holdings;
pub mod preview;
pub mod request;
pub mod schedule;
pub mod send;
pub mod signing;
pub mod ssrf;
mod targets;
mod verdict;
mod worker;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use rand::Rng;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::config::{Config, RetrySchedule};
use crate::metrics::Metrics;
use crate::model::AttemptRequest;
use crate::security::Cipher;
use crate::store::{
    AttemptKind, AttemptRecord, BodySource, Job, Next, Outcome, Store, SwitchOff, WebhookSettings,
};
use crate::time::now_ms;
use send::PrivateTargets;
use targets::{Loaded, Targets};
use verdict::Judge;

pub use send::explain;
pub use worker::run_workers;

/// Attempts in flight at once, over all webhooks.
pub const MAX_IN_FLIGHT: usize = 256;
/// Attempts in flight at once to one webhook: a slow target holds at most
/// this many slots and never starves the others.
pub const MAX_IN_FLIGHT_PER_WEBHOOK: usize = 16;
/// Outcomes written in one transaction at most.
const RECORD_BATCH: usize = 256;
/// Deliveries one `Deliverer::round` claims at most.
const ROUND_LIMIT: usize = 10_000;
/// How long the recorder waits for more outcomes to write with the first.
const RECORD_WINDOW: Duration = Duration::from_millis(20);

/// How deliveries behave, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub schedule: RetrySchedule,
    /// Delays between the probes of a webhook hookhub switched off.
    pub probes: RetrySchedule,
    pub timeout: Duration,
    pub disable_after: Duration,
    pub private: PrivateTargets,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            schedule: config.retry_schedule.clone(),
            probes: config.probe_schedule.clone(),
            timeout: config.delivery_timeout,
            disable_after: config.disable_after,
            private: if config.allow_private_targets {
                PrivateTargets::Allow
            } else {
                PrivateTargets::Refuse
            },
        }
    }

    /// How long a claim holds. A claimed delivery waits at most one attempt's
    /// time for a slot (see `worker`), then takes at most `timeout` itself; the
    /// margin covers recording it. A crashed worker's claims come back after this.
    pub fn lease(&self) -> Duration {
        2 * self.timeout + Duration::from_secs(5)
    }
}

/// What the recorder is asked to do.
enum Recording {
    Outcome(Box<Outcome>),
    /// Answers once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
}

/// Sends deliveries; shared by the workers and the Test button.
#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    client: reqwest::Client,
    settings: Arc<Settings>,
    wake: Arc<Notify>,
    recorder: mpsc::Sender<Recording>,
    targets: Arc<Targets>,
    metrics: Arc<Metrics>,
}

impl Deliverer {
    /// Starts the recorder that writes outcomes in batches.
    pub fn new(store: Store, cipher: Cipher, settings: Settings, metrics: Arc<Metrics>) -> Self {
        let (recorder, outcomes) = mpsc::channel(4 * RECORD_BATCH);
        let deliverer = Self {
            client: send::client(settings.timeout, settings.private),
            targets: Arc::new(Targets::new(store.clone(), cipher)),
            store,
            settings: Arc::new(settings),
            wake: Arc::new(Notify::new()),
            recorder,
            metrics,
        };
        tokio::spawn(record_outcomes(deliverer.clone(), outcomes));
        deliverer
    }

    /// Drops what is cached of a webhook that changed.
    pub fn forget(&self, webhook_id: &str) {
        self.targets.forget(webhook_id);
    }

    /// Tells idle workers that deliveries were just committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Wakes the workers when the first retry of `outcomes`, just recorded,
    /// falls due: they claim it then rather than at their next look (each
    /// looks every second besides, which also finds the retries another
    /// instance recorded and the deliveries whose lease ran out).
    fn wake_at_first_retry(&self, outcomes: &[Outcome]) {
        let first = outcomes
            .iter()
            .filter_map(|outcome| outcome.next.retry_at())
            .min();
        if let Some(at) = first {
            let wake = self.wake.clone();
            let wait = Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64);
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                wake.notify_one();
            });
        }
    }

    /// `POST /api/webhooks/{id}/test`: one `webhook.test` delivery, sent now,
    /// even to an inactive webhook, and not retried.
    pub async fn test(&self, webhook_id: &str) -> anyhow::Result<AttemptRecord> {
        let data = serde_json::json!({
            "webhook_id": webhook_id,
            "message": "a test event sent from hookhub",
        });
        self.one_off(webhook_id, data, AttemptKind::Test)
            .await?
            .context("the webhook was deleted during its test")
    }

    /// Probes a webhook hookhub switched off with a `webhook.test` delivery:
    /// a 2xx switches it back on and releases its paused deliveries; any
    /// other outcome schedules the next probe.
    pub async fn probe(&self, webhook_id: &str) -> anyhow::Result<()> {
        let data = serde_json::json!({
            "webhook_id": webhook_id,
            "message": "a probe from hookhub: the webhook is switched off until an answer in 2xx",
        });
        let Some(attempt) = self.one_off(webhook_id, data, AttemptKind::Probe).await? else {
            return Ok(());
        };
        if attempt.succeeded() {
            if let Some(released) = self.store.switch_back_on(webhook_id).await? {
                tracing::info!(webhook = %webhook_id, released, "webhook recovered");
                self.forget(webhook_id);
                self.wake();
            }
            return Ok(());
        }
        let Some(disabled_at) = self
            .store
            .webhook(webhook_id)
            .await?
            .and_then(|webhook| webhook.disabled_at)
        else {
            return Ok(());
        };
        let at = schedule::next_probe(&self.settings.probes, disabled_at, now_ms());
        self.store.probe_again(webhook_id, at).await
    }

    /// One `webhook.test` delivery of `data`, sent now and recorded: its
    /// attempt, or `None` if the webhook is gone.
    async fn one_off(
        &self,
        webhook_id: &str,
        data: serde_json::Value,
        kind: AttemptKind,
    ) -> anyhow::Result<Option<AttemptRecord>> {
        let lease_until = now_ms() + self.settings.lease().as_millis() as i64;
        let job = self
            .store
            .create_test_delivery(webhook_id, data, lease_until, kind == AttemptKind::Probe)
            .await?;
        let Some((attempt, _)) = self.attempt(&job, kind).await? else {
            return Ok(None);
        };
        let mut record = attempt.attempt.clone();
        record.render_body(&job.event);
        self.record(attempt).await;
        self.flush().await;
        Ok(Some(record))
    }

    /// The request a sample event would produce with `settings`: signed with
    /// the webhook's real secrets when it exists (a throwaway key otherwise),
    /// credentials masked.
    pub async fn preview(
        &self,
        settings: &WebhookSettings,
        webhook_id: Option<&str>,
    ) -> anyhow::Result<AttemptRequest> {
        let signing_keys = match webhook_id {
            Some(id) => self
                .targets
                .load(id)
                .await?
                .map(|loaded| loaded.target.signing_keys),
            None => None,
        };
        let signing_keys =
            signing_keys.unwrap_or_else(|| vec![crate::security::random_text(32).into_bytes()]);
        Ok(preview::request(settings, signing_keys, now_ms()))
    }

    /// One round of what the workers do, over everything due now: claim,
    /// send one attempt at a time, record. For tests, which can then tell
    /// "nothing more is sent" by a round that sends nothing, without waiting.
    /// Returns how many attempts it made.
    pub async fn round(&self) -> anyhow::Result<usize> {
        let due = self.store.due_deliveries(&[], ROUND_LIMIT).await?;
        let ids: Vec<String> = due.into_iter().map(|delivery| delivery.id).collect();
        let lease_until = now_ms() + self.settings.lease().as_millis() as i64;
        let mut attempts = 0;
        for job in self.store.claim(&ids, lease_until).await? {
            attempts += usize::from(self.send(&job).await != Sending::NotSent);
        }
        self.flush().await;
        Ok(attempts)
    }

    /// Sends one claimed delivery and hands its outcome to the recorder;
    /// says whether an attempt was made (see `attempt`) and whether its
    /// receiver answered in time. An error is logged: the lease runs out and
    /// another attempt follows.
    async fn send(&self, job: &Job) -> Sending {
        let kind = if job.single_attempt {
            AttemptKind::Redelivery
        } else {
            AttemptKind::Scheduled
        };
        match self.attempt(job, kind).await {
            Ok(Some((outcome, pace))) => {
                self.record(outcome).await;
                pace
            }
            Ok(None) => Sending::NotSent,
            Err(error) => {
                tracing::error!(
                    delivery = %job.delivery_id,
                    error = format!("{error:#}"),
                    "delivery failed"
                );
                Sending::NotSent
            }
        }
    }

    /// Sends one claimed delivery and judges what came of it (`verdict`):
    /// the outcome to record and the pace it shows; `None` if there is
    /// nothing to send: its webhook is gone, or was switched off since (then
    /// the delivery is set aside unsent).
    async fn attempt(
        &self,
        job: &Job,
        kind: AttemptKind,
    ) -> anyhow::Result<Option<(Outcome, Sending)>> {
        let loaded = match kind {
            AttemptKind::Scheduled | AttemptKind::Redelivery => {
                self.targets.cached(&job.webhook_id).await?
            }
            // A test or a probe always reads the settings as they are now.
            AttemptKind::Test | AttemptKind::Probe => self.targets.load(&job.webhook_id).await?,
        };
        let Some(Loaded {
            target,
            active,
            schedule,
        }) = loaded
        else {
            return Ok(None);
        };
        if !active && matches!(kind, AttemptKind::Scheduled | AttemptKind::Redelivery) {
            self.store
                .set_aside(&job.lease(), "not sent: the webhook was switched off")
                .await?;
            if job.ordering_key.is_some() {
                // The next of its key may be due now, to be set aside in turn.
                self.wake();
            }
            return Ok(None);
        }
        let started_at = now_ms();
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let outbound = request::build(&target, &job.delivery_id, &job.event, timestamp);
        let sent = send::send(&self.client, self.settings.private, &outbound).await;
        let attempt_number = job.attempt_count + 1;
        let judge = Judge {
            // The webhook's own, or the server's.
            schedule: schedule.as_ref().unwrap_or(&self.settings.schedule),
            timeout: self.settings.timeout,
        };
        let verdict = judge.judge(
            &sent,
            kind,
            attempt_number,
            now_ms(),
            rand::thread_rng().r#gen(),
        );
        let status = sent.response.as_ref().map(|r| r.status_code);
        log_attempt(job, kind, attempt_number, &verdict.next, status, &sent);
        if kind != AttemptKind::Test {
            let class = sent.failure.as_ref().map(|(class, _)| *class);
            self.metrics.attempt(&verdict.next, class, sent.duration);
        }
        let (error_class, error) = match sent.failure {
            Some((class, message)) => (Some(class.to_string()), Some(message)),
            None => (None, None),
        };
        let outcome = Outcome {
            lease_until: job.lease_until,
            attempt: AttemptRecord {
                delivery_id: job.delivery_id.clone(),
                webhook_id: job.webhook_id.clone(),
                started_at,
                duration_ms: sent.duration.as_millis() as u64,
                request: sent.request,
                body_source: BodySource::Event {
                    data_location: target.data_location.clone(),
                },
                response: sent.response,
                error_class,
                error,
            },
            next: verdict.next,
            error_in_words: verdict.error_in_words,
            gone: verdict.gone,
            kind,
            ordering_key: job.ordering_key.clone(),
        };
        Ok(Some((outcome, verdict.pace)))
    }

    /// Hands an outcome to the recorder, which commits it with others. Until
    /// then the delivery's lease keeps other workers off it.
    async fn record(&self, outcome: Outcome) {
        if self
            .recorder
            .send(Recording::Outcome(Box::new(outcome)))
            .await
            .is_err()
        {
            tracing::error!("the recorder has stopped; the lease will bring the delivery back");
        }
    }

    /// Waits until every outcome handed over so far is committed.
    async fn flush(&self) {
        let (done, committed) = oneshot::channel();
        if self.recorder.send(Recording::Flush(done)).await.is_ok() {
            let _ = committed.await;
        }
    }
}

/// One line per attempt, whatever came of it. Not the URL: its query may
/// hold a token.
fn log_attempt(
    job: &Job,
    kind: AttemptKind,
    attempt: u32,
    next: &Next,
    status: Option<u16>,
    sent: &send::Sent,
) {
    let outcome = next.as_str();
    let (class, error) = match &sent.failure {
        Some((class, message)) => (Some(*class), Some(message.as_str())),
        None => (None, None),
    };
    tracing::info!(
        delivery = %job.delivery_id,
        webhook = %job.webhook_id,
        event_type = %job.event.event_type,
        kind = ?kind,
        attempt,
        outcome,
        status,
        duration_ms = sent.duration.as_millis() as u64,
        class,
        error,
        "delivery attempt"
    );
}

/// What came of sending a claimed delivery, as the dispatch loop paces by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sending {
    /// Nothing was sent (the webhook is gone or off, or the store failed).
    NotSent,
    /// The receiver answered, or refused the connection, within the timeout.
    Answered,
    /// It did not answer in time: it holds a slot for the whole timeout.
    TimedOut,
}

/// Writes outcomes as they come, as many to a transaction as are waiting.
async fn record_outcomes(deliverer: Deliverer, mut requests: mpsc::Receiver<Recording>) {
    let disable_after = deliverer.settings.disable_after;
    let first_probe = deliverer.settings.probes.0.first().copied();
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while requests.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        // Outcomes that come within a short window share a transaction, so
        // that the writer stays free for new events; a flush goes at once.
        let window = tokio::time::Instant::now() + RECORD_WINDOW;
        let mut flush = batch
            .iter()
            .any(|request| matches!(request, Recording::Flush(_)));
        while !flush
            && batch.len() < RECORD_BATCH
            && let Ok(Some(request)) = tokio::time::timeout_at(window, requests.recv()).await
        {
            flush = matches!(request, Recording::Flush(_));
            batch.push(request);
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut flushes = Vec::new();
        for request in batch.drain(..) {
            match request {
                Recording::Outcome(outcome) => outcomes.push(*outcome),
                Recording::Flush(done) => flushes.push(done),
            }
        }
        if !outcomes.is_empty() {
            let now = now_ms();
            let switch_off = SwitchOff {
                failing_since_before: now - disable_after.as_millis() as i64,
                first_probe_at: now + first_probe.unwrap_or_default().as_millis() as i64,
            };
            match deliverer.store.record(&outcomes, switch_off).await {
                Ok(switched_off) => {
                    // Operator events may have been queued with them, and
                    // the next deliveries of keys whose delivery ended made due.
                    let ended_in_order =
                        |o: &Outcome| o.ordering_key.is_some() && o.next.retry_at().is_none();
                    if !switched_off.is_empty()
                        || outcomes
                            .iter()
                            .any(|o| o.next == Next::Failed || ended_in_order(o))
                    {
                        deliverer.wake();
                    }
                    switched_off.iter().for_each(|id| deliverer.forget(id));
                    deliverer.wake_at_first_retry(&outcomes);
                }
                // The leases run out and the deliveries are tried again.
                Err(error) => tracing::error!(
                    error = format!("{error:#}"),
                    count = outcomes.len(),
                    "recording attempts failed"
                ),
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
