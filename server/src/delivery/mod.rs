//! Delivering events: workers claim due deliveries from the outbox, send them
//! signed, and record every attempt. Handlers only enqueue and wake them.

pub mod request;
pub mod schedule;
pub mod send;
pub mod signing;
pub mod ssrf;
mod worker;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use api::AttemptOut;
use rand::Rng;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::config::{Config, RetrySchedule};
use crate::security::Cipher;
use crate::store::{AttemptRecord, Job, Next, Outcome, Store, StoredAuth, now_ms};
use request::{Credentials, Target};
use send::PrivateTargets;

pub use worker::run_workers;

/// Attempts in flight at once, over all webhooks.
pub const MAX_IN_FLIGHT: usize = 256;
/// Attempts in flight at once to one webhook: a slow target holds at most
/// this many slots and never starves the others.
pub const MAX_IN_FLIGHT_PER_WEBHOOK: usize = 16;
/// Outcomes written in one transaction at most.
const RECORD_BATCH: usize = 256;

/// How deliveries behave, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub schedule: RetrySchedule,
    pub timeout: Duration,
    pub disable_after: Duration,
    pub private: PrivateTargets,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            schedule: config.retry_schedule.clone(),
            timeout: config.delivery_timeout,
            disable_after: config.disable_after,
            private: if config.allow_private_targets {
                PrivateTargets::Allow
            } else {
                PrivateTargets::Refuse
            },
        }
    }

    /// How long a claim holds: an attempt takes at most `timeout`; the margin
    /// covers recording it. A crashed worker's claims come back after this.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(5)
    }
}

type Recording = (Outcome, oneshot::Sender<()>);

/// Sends deliveries; shared by the workers and the Test button.
#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    cipher: Cipher,
    client: reqwest::Client,
    settings: Arc<Settings>,
    wake: Arc<Notify>,
    recorder: mpsc::Sender<Recording>,
}

impl Deliverer {
    /// Starts the recorder that writes outcomes in batches.
    pub fn new(store: Store, cipher: Cipher, settings: Settings) -> Self {
        let (recorder, outcomes) = mpsc::channel(4 * RECORD_BATCH);
        tokio::spawn(record_outcomes(
            store.clone(),
            outcomes,
            settings.disable_after,
        ));
        Self {
            client: send::client(settings.timeout, settings.private),
            store,
            cipher,
            settings: Arc::new(settings),
            wake: Arc::new(Notify::new()),
            recorder,
        }
    }

    /// Tells idle workers that deliveries were just committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// `POST /api/webhooks/{id}/test`: one `webhook.test` delivery, sent now,
    /// even to an inactive webhook, and not retried.
    pub async fn test(&self, webhook_id: &str) -> anyhow::Result<AttemptOut> {
        let data = serde_json::json!({
            "webhook_id": webhook_id,
            "message": "a test event sent from hookhub",
        });
        let lease_until = now_ms() + self.settings.lease().as_millis() as i64;
        let job = self
            .store
            .create_test_delivery(webhook_id, data, lease_until)
            .await?;
        let attempt = self
            .attempt(&job, Retries::None)
            .await?
            .context("the webhook was deleted during its test")?;
        let out = attempt_out(&attempt.attempt);
        self.record(attempt).await;
        Ok(out)
    }

    /// Sends one claimed delivery; `None` if there is nothing to send: its
    /// webhook is gone, or was switched off since (then the delivery fails unsent).
    async fn attempt(&self, job: &Job, retries: Retries) -> anyhow::Result<Option<Outcome>> {
        let Some((target, active)) = self.target(&job.webhook_id).await? else {
            return Ok(None);
        };
        if !active && matches!(retries, Retries::Scheduled) {
            self.store
                .abandon(&job.delivery_id, "not sent: the webhook was switched off")
                .await?;
            return Ok(None);
        }
        let started_at = now_ms();
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let outbound = request::build(&target, &job.delivery_id, &job.event, timestamp);
        let sent = send::send(&self.client, self.settings.private, &outbound).await;
        let attempt_number = job.attempt_count + 1;
        let next = match (&sent.failure, retries) {
            (None, _) => Next::Succeeded,
            (Some(_), Retries::None) => Next::Failed,
            (Some(_), Retries::Scheduled) => {
                match schedule::retry_delay(
                    &self.settings.schedule,
                    attempt_number,
                    sent.retry_after,
                ) {
                    Some(delay) => {
                        let delay = schedule::with_jitter(delay, rand::thread_rng().r#gen());
                        Next::RetryAt(now_ms() + delay.as_millis() as i64)
                    }
                    None => Next::Failed,
                }
            }
        };
        if let Some((class, message)) = &sent.failure {
            tracing::info!(delivery = %job.delivery_id, webhook = %job.webhook_id, attempt = attempt_number,
                class, error = %message, "delivery attempt failed");
        }
        let (error_class, error) = match sent.failure {
            Some((class, message)) => (Some(class), Some(message)),
            None => (None, None),
        };
        Ok(Some(Outcome {
            attempt: AttemptRecord {
                delivery_id: job.delivery_id.clone(),
                webhook_id: job.webhook_id.clone(),
                started_at,
                duration_ms: sent.duration.as_millis() as u64,
                request: sent.request,
                response: sent.response,
                error_class,
                error,
            },
            next,
        }))
    }

    /// Hands an outcome to the recorder and waits until it is committed.
    async fn record(&self, outcome: Outcome) {
        let (done, committed) = oneshot::channel();
        if self.recorder.send((outcome, done)).await.is_ok() {
            let _ = committed.await;
        }
    }

    /// The webhook's request settings with its secrets opened, and whether it is active.
    async fn target(&self, webhook_id: &str) -> anyhow::Result<Option<(Target, bool)>> {
        let Some(webhook) = self.store.webhook(webhook_id).await? else {
            return Ok(None);
        };
        let Some(secrets) = self.store.signing_secrets(webhook_id).await? else {
            return Ok(None);
        };
        let settings = webhook.settings;
        let credentials = match settings.auth {
            StoredAuth::None => Credentials::None,
            StoredAuth::Basic { username, password } => Credentials::Basic {
                username,
                password: self.cipher.open(&password.0)?,
            },
            StoredAuth::Bearer { token } => Credentials::Bearer {
                token: self.cipher.open(&token.0)?,
            },
        };
        let mut signing_keys = Vec::new();
        for sealed in std::iter::once(&secrets.current).chain(secrets.previous.as_ref()) {
            let secret = self.cipher.open(&sealed.0)?;
            signing_keys.push(
                signing::secret_key(&secret).context("a stored signing secret is not whsec_")?,
            );
        }
        let target = Target {
            url: settings.url,
            method: settings.method,
            credentials,
            headers: settings.headers,
            data_location: settings.data_location,
            signing_keys,
        };
        Ok(Some((target, settings.active)))
    }
}

/// Whether a failed attempt is tried again on the schedule.
#[derive(Debug, Clone, Copy)]
enum Retries {
    Scheduled,
    None,
}

/// Writes outcomes as they come, many to a transaction, and acknowledges each
/// once committed.
async fn record_outcomes(
    store: Store,
    mut outcomes: mpsc::Receiver<Recording>,
    disable_after: Duration,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while outcomes.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let records: Vec<Outcome> = batch.iter().map(|(outcome, _)| outcome.clone()).collect();
        let disable_before = now_ms() - disable_after.as_millis() as i64;
        // On failure the leases run out and the deliveries are tried again.
        if let Err(error) = store.record(&records, disable_before).await {
            tracing::error!(
                error = format!("{error:#}"),
                count = records.len(),
                "recording attempts failed"
            );
        }
        for (_, done) in batch.drain(..) {
            let _ = done.send(());
        }
    }
}

fn attempt_out(attempt: &AttemptRecord) -> AttemptOut {
    AttemptOut {
        delivery_id: attempt.delivery_id.clone(),
        status: if attempt.succeeded() {
            "succeeded"
        } else {
            "failed"
        }
        .to_string(),
        started_at: crate::http::rfc3339(attempt.started_at),
        duration_ms: attempt.duration_ms,
        request: attempt.request.clone(),
        response: attempt.response.clone(),
        error_class: attempt.error_class.map(String::from),
        error: attempt.error.clone(),
    }
}
