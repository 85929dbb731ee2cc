//! What the workers ask beside claims: secrets, tests, probes, deliveries
//! set aside; and what a batch of outcomes does beyond its deliveries (the
//! webhooks' health, switching off, operator events), which each backend's
//! `record` runs in its transaction.

use std::collections::HashSet;

use anyhow::Context;
use serde_json::Value;
use sqlx::QueryBuilder;

use super::ordering::{self, Heads};
use super::{Backend, Db, enqueue};
use crate::store::deliveries::{GONE_REASON, TestDelivery, health_changes, held_only};
use crate::store::operator::{self, DisabledWebhook, FailedDelivery};
use crate::store::outbox::Reservation;
use crate::store::rows::{JOB_COLUMNS, JobRow, jobs_from};
use crate::store::{
    DeliveryStore, Dialect, Job, Lease, NewEvent, Outcome, QueueDepth, Sealed, SigningSecrets,
    SwitchOff,
};
use crate::time::{now_ms, rfc3339};

type Connection = <Db as sqlx::Database>::Connection;

#[async_trait::async_trait]
impl DeliveryStore for Backend {
    async fn signing_secrets(&self, webhook_id: &str) -> anyhow::Result<Option<SigningSecrets>> {
        let row: Option<SigningSecretsRow> =
            sqlx::query_as(&format!("{SELECT_SIGNING_SECRETS} WHERE id = $1"))
                .bind(webhook_id)
                .fetch_optional(self.reader())
                .await?;
        Ok(row.map(SigningSecrets::from))
    }

    async fn queue_depth(&self) -> anyhow::Result<QueueDepth> {
        let row: QueueDepthRow = sqlx::query_as(SELECT_QUEUE_DEPTH)
            .fetch_one(self.reader())
            .await?;
        Ok(row.into())
    }

    async fn set_aside(&self, lease: &Lease, reason: &str) -> anyhow::Result<()> {
        let mut tx = self.bookkeeping().begin().await?;
        let set_aside: Option<(String, String, Option<String>)> = sqlx::query_as(
            "UPDATE deliveries AS d SET
                 status = CASE WHEN w.active THEN d.status
                     WHEN w.disabled_reason IS NOT NULL THEN 'paused' ELSE 'failed' END,
                 next_attempt_at = CASE WHEN w.active THEN d.next_attempt_at END,
                 last_error = CASE WHEN w.active OR w.disabled_reason IS NOT NULL
                     THEN d.last_error ELSE $1 END,
                 lease_until = NULL, updated_at = $2
             FROM webhooks w WHERE w.id = d.webhook_id AND d.id = $3 AND d.lease_until = $4
             RETURNING status, webhook_id, ordering_key",
        )
        .bind(reason)
        .bind(now_ms())
        .bind(&lease.delivery_id)
        .bind(lease.until)
        .fetch_optional(&mut *tx)
        .await?;
        // Failed, it lets the next of its key go (to be set aside in turn).
        if let Some((status, webhook_id, Some(key))) = &set_aside
            && status == "failed"
        {
            ordering::lock(&mut tx, &[key]).await?;
            if ordering::promote(&mut tx, Heads::Of(&[(webhook_id, key)])).await? > 0 {
                Backend::announce_due(&mut tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_test_delivery(
        &self,
        webhook_id: &str,
        data: Value,
        lease_until: i64,
        probe: bool,
    ) -> anyhow::Result<Job> {
        let test = TestDelivery::new(&data)?;
        let mut tx = self.writer().begin().await?;
        sqlx::query("INSERT INTO events (id, type, data, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&test.event_id)
            .bind(TestDelivery::EVENT_TYPE)
            .bind(&test.stored)
            .bind(test.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, next_attempt_at,
                 lease_until, probe, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $5, $5)",
        )
        .bind(&test.delivery_id)
        .bind(webhook_id)
        .bind(&test.event_id)
        .bind(TestDelivery::EVENT_TYPE)
        .bind(test.created_at)
        .bind(lease_until)
        .bind(probe)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(test.job(webhook_id, data, lease_until))
    }

    async fn due_probes(&self, until: i64) -> anyhow::Result<Vec<String>> {
        let ids = sqlx::query_scalar(&format!(
            "UPDATE webhooks SET next_probe_at = $1
             WHERE id IN (
                 SELECT id FROM webhooks
                 WHERE next_probe_at <= $2 AND NOT active AND disabled_reason IS NOT NULL{})
             RETURNING id",
            Backend::CLAIM_ROWS
        ))
        .bind(until)
        .bind(now_ms())
        .fetch_all(self.bookkeeping())
        .await?;
        Ok(ids)
    }

    async fn probe_again(&self, webhook_id: &str, at: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE webhooks SET next_probe_at = $1
             WHERE id = $2 AND NOT active AND disabled_reason IS NOT NULL",
        )
        .bind(at)
        .bind(webhook_id)
        .execute(self.bookkeeping())
        .await?;
        Ok(())
    }

    async fn switch_back_on(&self, webhook_id: &str) -> anyhow::Result<Option<u64>> {
        let mut tx = self.writer().begin().await?;
        let name: Option<String> = sqlx::query_scalar(
            "UPDATE webhooks SET active = TRUE, disabled_reason = NULL, disabled_at = NULL,
                 next_probe_at = NULL, failing_since = NULL
             WHERE id = $1 AND NOT active AND disabled_reason IS NOT NULL
             RETURNING name",
        )
        .bind(webhook_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(name) = name else {
            return Ok(None);
        };
        let released = release_paused(&mut tx, webhook_id, &name, true).await?;
        tx.commit().await.context("recovering a webhook")?;
        Ok(Some(released))
    }
}

/// The jobs of deliveries `ids` (a claim's or a record's few thousand at
/// most), leased until `lease_until`, read in the transaction that leased
/// them: oldest due first, and in the order they were created when due alike.
pub(in super::super) async fn jobs(
    tx: &mut Connection,
    ids: &[&str],
    lease_until: i64,
) -> anyhow::Result<Vec<Job>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<Db>::new(format!(
        "SELECT {JOB_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id IN ("
    ));
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    query.push(") ORDER BY d.next_attempt_at, d.id");
    let rows: Vec<JobRow> = query.build_query_as().fetch_all(&mut *tx).await?;
    jobs_from(rows, lease_until)
}

/// Makes the paused deliveries of a webhook switched on again due, each
/// since it was created, so that they go out oldest first (a keyed one
/// when its turn comes: its key's first due now, the rest waiting behind
/// it); tells `hookhub.webhook_recovered` if any were, or if hookhub had
/// `switched_off` the webhook. Returns how many it released. The caller's
/// transaction holds the webhook's row.
pub(in super::super) async fn release_paused(
    tx: &mut Connection,
    webhook_id: &str,
    name: &str,
    switched_off: bool,
) -> anyhow::Result<u64> {
    // Several instances: the keys first, as every transaction that makes a key's next due.
    if !Backend::LOCK_ROWS.is_empty() {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT ordering_key FROM deliveries
             WHERE webhook_id = $1 AND status = 'paused' AND status <> 'succeeded'
               AND ordering_key IS NOT NULL",
        )
        .bind(webhook_id)
        .fetch_all(&mut *tx)
        .await?;
        ordering::lock(tx, &keys.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    }
    let released = sqlx::query(
        "UPDATE deliveries SET updated_at = $1,
             next_attempt_at = CASE WHEN ordering_key IS NULL THEN created_at END,
             status = CASE WHEN attempt_count > 0 THEN 'retrying' ELSE 'pending' END
         WHERE webhook_id = $2 AND status = 'paused' AND status <> 'succeeded'",
    )
    .bind(now_ms())
    .bind(webhook_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if released > 0 {
        ordering::promote(tx, Heads::OfWebhook(webhook_id)).await?;
        Backend::announce_due(tx).await?;
    }
    if let Some(told) = operator::webhook_recovered(webhook_id, name, released, switched_off) {
        enqueue(tx, &[told]).await?;
    }
    Ok(released)
}

/// What outcomes do beyond their deliveries (`held`: those still held under
/// their lease, already updated), in the transaction that records them: each
/// webhook's health, switching off a webhook as `switch_off` says (what
/// waits for it then waits paused), and the operator events that tell of
/// failures and switch-offs; and the next delivery of each ordering key
/// whose delivery ended, leased to this process's workers as `handover`
/// has room.
pub(in super::super) async fn consequences(
    tx: &mut Connection,
    outcomes: &[Outcome],
    held: &HashSet<String>,
    switch_off: SwitchOff,
    now: i64,
    handover: &mut Reservation,
) -> anyhow::Result<Consequences> {
    let mut switched_off = Vec::new();
    let mut told = failures_to_tell(tx, outcomes, held).await?;
    for change in health_changes(outcomes) {
        let failing_since: Option<i64> = sqlx::query_scalar(
            "UPDATE webhooks SET
                 consecutive_failures = CASE WHEN $1 THEN $2 ELSE consecutive_failures + $2 END,
                 failing_since = CASE WHEN $1 THEN $3 ELSE COALESCE(failing_since, $3) END,
                 last_attempt_at = CASE WHEN last_attempt_at > $4 THEN last_attempt_at ELSE $4 END,
                 last_error = $5
             WHERE id = $6
             RETURNING failing_since",
        )
        .bind(change.recovered)
        .bind(i64::from(change.failures))
        .bind(change.failing_since)
        .bind(change.last_attempt_at)
        .bind(change.last_error)
        .bind(change.webhook_id)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        if change.failures == 0 {
            continue;
        }
        let reason = match failing_since {
            _ if change.gone => GONE_REASON.to_string(),
            Some(since) => format!(
                "failed without a single success since {}",
                whole_seconds(since)
            ),
            None => continue,
        };
        let disabled: Option<DisabledRow> = sqlx::query_as(&format!(
            "UPDATE webhooks SET active = FALSE, disabled_at = $1, next_probe_at = $2,
                 disabled_reason = $3
             WHERE id = $4 AND active AND ($5 OR failing_since < $6)
             RETURNING {DISABLED_COLUMNS}"
        ))
        .bind(now)
        .bind(switch_off.first_probe_at)
        .bind(reason)
        .bind(change.webhook_id)
        .bind(change.gone)
        .bind(switch_off.failing_since_before)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(webhook) = disabled.map(DisabledWebhook::from) {
            // What waits for it (its turn included) waits paused; what workers
            // hold is set aside when they find it off.
            sqlx::query(
                "UPDATE deliveries SET status = 'paused', next_attempt_at = NULL, updated_at = $1
                 WHERE webhook_id = $2 AND status IN ('pending', 'retrying') AND status <> 'succeeded'
                   AND (lease_until IS NULL OR lease_until < $1)",
            )
            .bind(now)
            .bind(&webhook.id)
            .execute(&mut *tx)
            .await?;
            switched_off.push(webhook.id.clone());
            told.push(operator::webhook_disabled(webhook));
        }
    }
    if !told.is_empty() {
        enqueue(tx, &told).await?;
    }
    // After the webhooks' rows: every transaction takes a webhook's row before its keys'.
    let next = ordering::after_outcomes(tx, outcomes, held, handover).await?;
    Ok(Consequences { switched_off, next })
}

/// What `consequences` did that the recorder acts on once committed.
pub(in super::super) struct Consequences {
    /// The webhooks it switched off.
    pub switched_off: Vec<String>,
    /// Deliveries made due and leased to this process's workers, to hand them.
    pub next: Vec<Job>,
}

/// `2026-12-06T06:20:00Z`: a time as a switch-off reason says it.
fn whole_seconds(ms: i64) -> String {
    let precise = rfc3339(ms);
    format!("{}Z", precise.get(..19).unwrap_or(&precise))
}

/// `hookhub.delivery_failed` for each delivery that these outcomes ended as
/// failed and whose failure is told.
async fn failures_to_tell(
    tx: &mut Connection,
    outcomes: &[Outcome],
    held: &HashSet<String>,
) -> anyhow::Result<Vec<NewEvent>> {
    let failed = operator::failed_for_good(held_only(outcomes, held));
    let mut told = Vec::new();
    for chunk in failed.chunks(1000) {
        let mut query = QueryBuilder::<Db>::new(format!("{SELECT_FAILED} WHERE id IN ("));
        let mut ids = query.separated(", ");
        for id in chunk {
            ids.push_bind(id);
        }
        query.push(")");
        let rows: Vec<FailedRow> = query.build_query_as().fetch_all(&mut *tx).await?;
        told.extend(
            rows.into_iter()
                .filter_map(|row| operator::delivery_failed(row.into())),
        );
    }
    Ok(told)
}

/// A webhook's signing secrets as stored.
const SELECT_SIGNING_SECRETS: &str =
    "SELECT secret, previous_secret, previous_secret_until FROM webhooks";

#[derive(sqlx::FromRow)]
struct SigningSecretsRow {
    secret: Vec<u8>,
    previous_secret: Option<Vec<u8>>,
    previous_secret_until: Option<i64>,
}

impl From<SigningSecretsRow> for SigningSecrets {
    /// The previous secret only while it still signs.
    fn from(row: SigningSecretsRow) -> Self {
        let until = row.previous_secret_until;
        SigningSecrets {
            current: Sealed(row.secret),
            previous: row
                .previous_secret
                .filter(|_| until.is_some_and(|t| t > now_ms()))
                .map(Sealed),
        }
    }
}

/// The queue as `/metrics` shows it. `paused` is counted by name so that
/// the gauge reads 0, not absent, while no delivery is paused.
const SELECT_QUEUE_DEPTH: &str = "SELECT
     (SELECT count(*) FROM deliveries WHERE status = 'pending' AND status <> 'succeeded') AS pending,
     (SELECT count(*) FROM deliveries WHERE status = 'retrying' AND status <> 'succeeded') AS retrying,
     (SELECT count(*) FROM deliveries WHERE status = 'paused' AND status <> 'succeeded') AS paused,
     (SELECT min(next_attempt_at) FROM deliveries WHERE next_attempt_at IS NOT NULL) AS oldest_due_at";

#[derive(sqlx::FromRow)]
struct QueueDepthRow {
    pending: i64,
    retrying: i64,
    paused: i64,
    oldest_due_at: Option<i64>,
}

impl From<QueueDepthRow> for QueueDepth {
    fn from(row: QueueDepthRow) -> Self {
        QueueDepth {
            pending: row.pending as u64,
            retrying: row.retrying as u64,
            paused: row.paused as u64,
            oldest_due_at: row.oldest_due_at,
        }
    }
}

/// A webhook switched off, as `UPDATE ... RETURNING` reads it.
const DISABLED_COLUMNS: &str = "id, name, url, disabled_reason, last_error, disabled_at";

#[derive(sqlx::FromRow)]
struct DisabledRow {
    id: String,
    name: String,
    url: String,
    disabled_reason: Option<String>,
    last_error: Option<String>,
    disabled_at: Option<i64>,
}

impl From<DisabledRow> for DisabledWebhook {
    fn from(row: DisabledRow) -> Self {
        DisabledWebhook {
            id: row.id,
            name: row.name,
            url: row.url,
            reason: row.disabled_reason,
            last_error: row.last_error,
            disabled_at: row.disabled_at,
        }
    }
}

/// A delivery failed for good, with what its operator event tells.
const SELECT_FAILED: &str = "SELECT id, webhook_id, event_id, event_type, attempt_count,
     last_status_code, last_error FROM deliveries";

#[derive(sqlx::FromRow)]
struct FailedRow {
    id: String,
    webhook_id: String,
    event_id: String,
    event_type: String,
    attempt_count: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
}

impl From<FailedRow> for FailedDelivery {
    fn from(row: FailedRow) -> Self {
        FailedDelivery {
            id: row.id,
            webhook_id: row.webhook_id,
            event_id: row.event_id,
            event_type: row.event_type,
            attempts: row.attempt_count,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
        }
    }
}
