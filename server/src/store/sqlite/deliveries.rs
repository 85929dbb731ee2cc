//! The outbox seen from the workers: claim due deliveries under a lease, load
//! what sending needs, record outcomes in batches.

use std::collections::HashSet;

use anyhow::Context;
use serde_json::Value;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::{MAX_PARAMS, SqliteStore};
use crate::store::deliveries::{GONE_REASON, TestDelivery, health_changes, held_only, lost_leases};
use crate::store::operator::{self, DisabledWebhook};
use crate::store::rows::{
    AttemptColumns, DISABLED_COLUMNS, DisabledRow, FailedRow, JOB_COLUMNS, JobRow, QueueDepthRow,
    SELECT_FAILED, SELECT_QUEUE_DEPTH, SELECT_SIGNING_SECRETS, SigningSecretsRow, jobs_from,
};
use crate::store::{
    DueDelivery, Job, Lease, NewEvent, Outcome, QueueDepth, QueueStore, SigningSecrets, SwitchOff,
};
use crate::time::now_ms;

fn push_ids<'a>(query: &mut QueryBuilder<'a, Sqlite>, ids: &'a [String]) {
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(")");
}

#[async_trait::async_trait]
impl QueueStore for SqliteStore {
    /// Looked for webhook by webhook (the index on a webhook's due
    /// deliveries), so that a skipped webhook's backlog is never read.
    async fn due_deliveries(
        &self,
        busy_webhooks: &[String],
        limit: usize,
    ) -> anyhow::Result<Vec<DueDelivery>> {
        let now = now_ms();
        // `octet_length` reads the size from the record header, not the data.
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT d.id, d.webhook_id, octet_length(e.data) AS bytes
             FROM webhooks w JOIN deliveries d ON d.id IN (
                 SELECT id FROM deliveries WHERE webhook_id = w.id AND next_attempt_at <= ",
        );
        query.push_bind(now);
        query.push(" AND (lease_until IS NULL OR lease_until < ");
        query.push_bind(now);
        query.push(") ORDER BY next_attempt_at LIMIT ");
        query.push_bind(limit as i64);
        query.push(") JOIN events e ON e.id = d.event_id");
        if !busy_webhooks.is_empty() {
            query.push(" WHERE w.id NOT IN (");
            push_ids(&mut query, busy_webhooks);
        }
        query.push(" ORDER BY d.next_attempt_at LIMIT ");
        query.push_bind(limit as i64);
        // On the writer: its page cache is warm, while a reader's is dropped at every commit.
        let rows = query.build().fetch_all(&self.writer).await?;
        Ok(rows
            .iter()
            .map(|row| DueDelivery {
                id: row.get("id"),
                webhook_id: row.get("webhook_id"),
                bytes: row.get::<i64, _>("bytes") as usize,
            })
            .collect())
    }

    async fn claim(&self, ids: &[String], lease_until: i64) -> anyhow::Result<Vec<Job>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let mut query = QueryBuilder::<Sqlite>::new("UPDATE deliveries SET lease_until = ");
        query.push_bind(lease_until);
        query.push(" WHERE next_attempt_at <= ");
        query.push_bind(now);
        query.push(" AND (lease_until IS NULL OR lease_until < ");
        query.push_bind(now);
        query.push(") AND id IN (");
        push_ids(&mut query, ids);
        query.push(" RETURNING id");
        // A lease lost to a power cut only means a delivery is sent twice.
        let mut writer = super::relaxed(&self.writer).await?;
        let claimed: Vec<String> = query
            .build_query_scalar()
            .fetch_all(&mut *writer)
            .await
            .context("claiming deliveries")?;
        let jobs = jobs(&mut writer, &claimed, lease_until).await;
        writer.restore().await?;
        jobs
    }

    async fn signing_secrets(&self, webhook_id: &str) -> anyhow::Result<Option<SigningSecrets>> {
        let row: Option<SigningSecretsRow> =
            sqlx::query_as(&format!("{SELECT_SIGNING_SECRETS} WHERE id = ?"))
                .bind(webhook_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.map(SigningSecrets::from))
    }

    /// One: a SQLite database belongs to one process.
    async fn queue_depth(&self) -> anyhow::Result<QueueDepth> {
        let row: QueueDepthRow = sqlx::query_as(SELECT_QUEUE_DEPTH)
            .fetch_one(&self.reader)
            .await?;
        Ok(row.into())
    }

    async fn instances(&self) -> anyhow::Result<usize> {
        Ok(1)
    }

    async fn set_aside(&self, lease: &Lease, reason: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE deliveries SET
                 status = CASE WHEN w.active THEN status
                     WHEN w.disabled_reason IS NOT NULL THEN 'paused' ELSE 'failed' END,
                 next_attempt_at = CASE WHEN w.active THEN next_attempt_at END,
                 last_error = CASE WHEN w.active OR w.disabled_reason IS NOT NULL
                     THEN deliveries.last_error ELSE ? END,
                 lease_until = NULL, updated_at = ?
             FROM webhooks w WHERE w.id = deliveries.webhook_id
                 AND deliveries.id = ? AND deliveries.lease_until = ?",
        )
        .bind(reason)
        .bind(now_ms())
        .bind(&lease.delivery_id)
        .bind(lease.until)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn release(&self, leases: &[Lease]) -> anyhow::Result<()> {
        release(&self.writer, leases).await
    }

    async fn create_test_delivery(
        &self,
        webhook_id: &str,
        data: Value,
        lease_until: i64,
        probe: bool,
    ) -> anyhow::Result<Job> {
        let test = TestDelivery::new(&data)?;
        let mut tx = self.writer.begin().await?;
        sqlx::query("INSERT INTO events (id, type, data, created_at) VALUES (?, ?, ?, ?)")
            .bind(&test.event_id)
            .bind(TestDelivery::EVENT_TYPE)
            .bind(&test.stored)
            .bind(test.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, next_attempt_at,
                 lease_until, probe, created_at, updated_at)
             VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
        )
        .bind(&test.delivery_id)
        .bind(webhook_id)
        .bind(&test.event_id)
        .bind(TestDelivery::EVENT_TYPE)
        .bind(test.created_at)
        .bind(lease_until)
        .bind(probe)
        .bind(test.created_at)
        .bind(test.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(test.job(webhook_id, data, lease_until))
    }

    /// A few statements per batch, not per attempt.
    async fn record(
        &self,
        outcomes: &[Outcome],
        switch_off: SwitchOff,
    ) -> anyhow::Result<Vec<String>> {
        let now = now_ms();
        // Lost to a power cut, an outcome is only a delivery sent again.
        let mut writer = super::relaxed(&self.writer).await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        // SQLite takes up to 32,766 parameters in one statement.
        let mut held = HashSet::new();
        for chunk in outcomes.chunks(1000) {
            insert_attempts(&mut tx, chunk).await?;
            held.extend(update_deliveries(&mut tx, chunk, now).await?);
        }
        lost_leases(outcomes, &held);
        let mut switched_off = Vec::new();
        let mut told = failures_to_tell(&mut tx, outcomes, &held).await?;
        for change in health_changes(outcomes) {
            sqlx::query(
                "UPDATE webhooks SET
                     consecutive_failures = CASE WHEN ? THEN ? ELSE consecutive_failures + ? END,
                     failing_since = CASE WHEN ? THEN ? ELSE COALESCE(failing_since, ?) END,
                     last_attempt_at = MAX(COALESCE(last_attempt_at, 0), ?),
                     last_error = ?
                 WHERE id = ?",
            )
            .bind(change.recovered)
            .bind(change.failures)
            .bind(change.failures)
            .bind(change.recovered)
            .bind(change.failing_since)
            .bind(change.failing_since)
            .bind(change.last_attempt_at)
            .bind(change.last_error)
            .bind(change.webhook_id)
            .execute(&mut *tx)
            .await?;
            if change.failures == 0 {
                continue;
            }
            let disable = format!(
                "UPDATE webhooks SET active = 0, disabled_at = ?, next_probe_at = ?,
                     disabled_reason = CASE WHEN ? THEN ? ELSE
                         'failed without a single success since ' ||
                         strftime('%Y-%m-%dT%H:%M:%SZ', failing_since / 1000, 'unixepoch') END
                 WHERE id = ? AND active = 1 AND (? OR failing_since < ?)
                 RETURNING {DISABLED_COLUMNS}"
            );
            let disabled: Option<DisabledRow> = sqlx::query_as(&disable)
                .bind(now)
                .bind(switch_off.first_probe_at)
                .bind(change.gone)
                .bind(GONE_REASON)
                .bind(change.webhook_id)
                .bind(change.gone)
                .bind(switch_off.failing_since_before)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(webhook) = disabled.map(DisabledWebhook::from) {
                // What waits for it waits paused; what workers hold is set aside when they find it off.
                sqlx::query(
                    "UPDATE deliveries SET status = 'paused', next_attempt_at = NULL, updated_at = ?
                     WHERE webhook_id = ? AND next_attempt_at IS NOT NULL
                       AND (lease_until IS NULL OR lease_until < ?)",
                )
                .bind(now)
                .bind(&webhook.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                switched_off.push(webhook.id.clone());
                told.push(operator::webhook_disabled(webhook));
            }
        }
        if !told.is_empty() {
            super::outbox::enqueue(&mut tx, &told).await?;
        }
        tx.commit().await.context("recording attempts")?;
        writer.restore().await?;
        Ok(switched_off)
    }

    async fn due_probes(&self, until: i64) -> anyhow::Result<Vec<String>> {
        let ids = sqlx::query_scalar(
            "UPDATE webhooks SET next_probe_at = ?
             WHERE next_probe_at <= ? AND active = 0 AND disabled_reason IS NOT NULL
             RETURNING id",
        )
        .bind(until)
        .bind(now_ms())
        .fetch_all(&self.writer)
        .await?;
        Ok(ids)
    }

    async fn probe_again(&self, webhook_id: &str, at: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE webhooks SET next_probe_at = ?
             WHERE id = ? AND active = 0 AND disabled_reason IS NOT NULL",
        )
        .bind(at)
        .bind(webhook_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn switch_back_on(&self, webhook_id: &str) -> anyhow::Result<Option<u64>> {
        let mut tx = self.writer.begin().await?;
        let name: Option<String> = sqlx::query_scalar(
            "UPDATE webhooks SET active = 1, disabled_reason = NULL, disabled_at = NULL,
                 next_probe_at = NULL, failing_since = NULL
             WHERE id = ? AND active = 0 AND disabled_reason IS NOT NULL
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

/// Makes the paused deliveries of a webhook switched on again due, each
/// since it was created, so that they go out oldest first; tells
/// `hookhub.webhook_recovered` if any were, or if hookhub had `switched_off`
/// the webhook. Returns how many it released.
pub(super) async fn release_paused(
    tx: &mut SqliteConnection,
    webhook_id: &str,
    name: &str,
    switched_off: bool,
) -> anyhow::Result<u64> {
    let released = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = created_at, updated_at = ?,
             status = CASE WHEN attempt_count > 0 THEN 'retrying' ELSE 'pending' END
         WHERE webhook_id = ? AND status = 'paused'",
    )
    .bind(now_ms())
    .bind(webhook_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if let Some(told) = operator::webhook_recovered(webhook_id, name, released, switched_off) {
        super::outbox::enqueue(tx, &[told]).await?;
    }
    Ok(released)
}

/// `hookhub.delivery_failed` for each delivery that these outcomes ended as
/// failed and whose failure is told.
async fn failures_to_tell(
    tx: &mut SqliteConnection,
    outcomes: &[Outcome],
    held: &HashSet<String>,
) -> anyhow::Result<Vec<NewEvent>> {
    let failed = operator::failed_for_good(held_only(outcomes, held));
    if failed.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<Sqlite>::new(format!("{SELECT_FAILED} WHERE id IN ("));
    let mut ids = query.separated(", ");
    for id in failed {
        ids.push_bind(id);
    }
    query.push(")");
    let rows: Vec<FailedRow> = query.build_query_as().fetch_all(&mut *tx).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| operator::delivery_failed(row.into()))
        .collect())
}

/// Inserts the attempts of deliveries that still exist: a webhook deleted
/// while its attempts were in flight took its deliveries and their logs with
/// it, and its outcomes must not make the others' fail.
async fn insert_attempts(tx: &mut SqliteConnection, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO attempts (delivery_id, webhook_id, succeeded, started_at, duration_ms,
             request_method, request_url, request_headers, request_body, body_from_event,
             body_location, response_status, response_headers, response_body, response_truncated,
             error_class, error)
         SELECT * FROM (",
    );
    let rows = outcomes
        .iter()
        .map(|outcome| AttemptColumns::of(&outcome.attempt))
        .collect::<anyhow::Result<Vec<_>>>()?;
    query.push_values(&rows, |mut row, columns| {
        let attempt = columns.attempt;
        row.push_bind(&attempt.delivery_id)
            .push_bind(&attempt.webhook_id)
            .push_bind(attempt.succeeded())
            .push_bind(attempt.started_at)
            .push_bind(attempt.duration_ms as i64)
            .push_bind(&attempt.request.method)
            .push_bind(&attempt.request.url)
            .push_bind(&columns.request_headers)
            .push_bind(columns.request_body)
            .push_bind(columns.body_from_event)
            .push_bind(columns.body_location)
            .push_bind(columns.response_status)
            .push_bind(&columns.response_headers)
            .push_bind(columns.response_body)
            .push_bind(columns.response_truncated)
            .push_bind(&attempt.error_class)
            .push_bind(&attempt.error);
    });
    query.push(") AS v WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = v.column1)");
    query
        .build()
        .execute(&mut *tx)
        .await
        .context("inserting attempts")?;
    Ok(())
}

/// The deliveries' new state, for those still held under the outcome's
/// lease; returns their ids.
async fn update_deliveries(
    tx: &mut SqliteConnection,
    outcomes: &[Outcome],
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "UPDATE deliveries SET status = v.column2, attempt_count = attempt_count + 1,
             next_attempt_at = v.column3, lease_until = NULL, last_status_code = v.column4,
             last_error = v.column5, last_duration_ms = v.column6, single_attempt = 0, updated_at = ",
    );
    query.push_bind(now);
    query.push(" FROM (");
    query.push_values(outcomes, |mut row, outcome| {
        let Outcome {
            attempt,
            lease_until,
            next,
            error_in_words,
            ..
        } = outcome;
        row.push_bind(&attempt.delivery_id)
            .push_bind(next.as_str())
            .push_bind(next.retry_at())
            .push_bind(attempt.response.as_ref().map(|r| r.status_code))
            .push_bind(error_in_words)
            .push_bind(attempt.duration_ms as i64)
            .push_bind(lease_until);
    });
    query.push(
        ") AS v WHERE deliveries.id = v.column1 AND deliveries.lease_until = v.column7
         RETURNING deliveries.id",
    );
    let held = query
        .build_query_scalar()
        .fetch_all(&mut *tx)
        .await
        .context("updating deliveries")?;
    Ok(held)
}

/// Ends `leases` where they still hold: those deliveries are due again at once.
pub(super) async fn release(writer: &SqlitePool, leases: &[Lease]) -> anyhow::Result<()> {
    for chunk in leases.chunks(MAX_PARAMS / 2) {
        let mut query =
            QueryBuilder::<Sqlite>::new("UPDATE deliveries SET lease_until = NULL FROM (");
        query.push_values(chunk, |mut row, lease| {
            row.push_bind(&lease.delivery_id).push_bind(lease.until);
        });
        query.push(") AS v WHERE deliveries.id = v.column1 AND deliveries.lease_until = v.column2");
        query.build().execute(writer).await?;
    }
    Ok(())
}

/// The claimed deliveries with their events, read on the connection that claimed them.
async fn jobs(
    connection: &mut SqliteConnection,
    ids: &[String],
    lease_until: i64,
) -> anyhow::Result<Vec<Job>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {JOB_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id IN ("
    ));
    push_ids(&mut query, ids);
    // Oldest due first, and in the order they were created when due alike.
    query.push(" ORDER BY d.next_attempt_at, d.id");
    let rows: Vec<JobRow> = query.build_query_as().fetch_all(&mut *connection).await?;
    jobs_from(rows, lease_until)
}
