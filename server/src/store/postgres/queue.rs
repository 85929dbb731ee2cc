//! The queue seen from the workers of every instance: claims skip the rows
//! another instance is claiming, leases keep claimed deliveries off the
//! others, outcomes are recorded in batches.

use std::collections::HashSet;

use anyhow::Context;
use sqlx::{PgConnection, PgPool, Row};

use super::sql::consequences;
use super::{LISTENER_NAME, PostgresStore, worth_retrying};
use crate::store::Dialect;
use crate::store::deliveries::lost_leases;
use crate::store::deliveries::rate_limit;
use crate::store::rows::{AttemptColumns, JOB_COLUMNS, JobRow, jobs_from};
use crate::store::{DueDelivery, Job, Lease, Outcome, QueueStore, SwitchOff};
use crate::time::now_ms;

/// Tries of a batch of outcomes that PostgreSQL gave up (a deadlock).
const RECORD_TRIES: usize = 3;

#[async_trait::async_trait]
impl QueueStore for PostgresStore {
    /// Looked for webhook by webhook (the index on a webhook's due
    /// deliveries), so that a skipped webhook's backlog is never read.
    async fn due_deliveries(
        &self,
        busy_webhooks: &[String],
        limit: usize,
    ) -> anyhow::Result<Vec<DueDelivery>> {
        let rows = sqlx::query(
            "SELECT d.id, d.webhook_id, octet_length(e.data) AS bytes, w.rate_limit
             FROM webhooks w
             CROSS JOIN LATERAL (
                 SELECT id, webhook_id, event_id, next_attempt_at FROM deliveries
                 WHERE webhook_id = w.id AND next_attempt_at <= $1
                   AND (lease_until IS NULL OR lease_until < $1)
                 ORDER BY next_attempt_at LIMIT $2) d
             JOIN events e ON e.id = d.event_id
             WHERE w.id <> ALL($3)
             ORDER BY d.next_attempt_at LIMIT $2",
        )
        .bind(now_ms())
        .bind(limit as i64)
        .bind(busy_webhooks)
        .fetch_all(&self.bookkeeping)
        .await?;
        Ok(rows
            .iter()
            .map(|row| DueDelivery {
                id: row.get("id"),
                webhook_id: row.get("webhook_id"),
                bytes: row.get::<i32, _>("bytes") as usize,
                rate_limit: rate_limit(row.get("rate_limit")),
            })
            .collect())
    }

    /// One statement: those of `ids` still due and unleased, skipping rows
    /// another instance is claiming this moment, leased and read with their events.
    async fn claim(&self, ids: &[String], lease_until: i64) -> anyhow::Result<Vec<Job>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            "WITH d AS (
                 UPDATE deliveries SET lease_until = $3
                 WHERE id IN (
                     SELECT id FROM deliveries
                     WHERE id = ANY($1) AND next_attempt_at <= $2
                       AND (lease_until IS NULL OR lease_until < $2)
                     FOR UPDATE SKIP LOCKED)
                 RETURNING id, webhook_id, attempt_count, single_attempt, ordering_key, event_id,
                     next_attempt_at)
             SELECT {JOB_COLUMNS} FROM d JOIN events e ON e.id = d.event_id
             ORDER BY d.next_attempt_at, d.id"
        ))
        .bind(ids)
        .bind(now_ms())
        .bind(lease_until)
        .fetch_all(&self.bookkeeping)
        .await
        .context("claiming deliveries")?;
        jobs_from(rows, lease_until)
    }

    /// Counts the instances' listening connections (one each), which
    /// PostgreSQL drops as soon as their process dies.
    async fn instances(&self) -> anyhow::Result<usize> {
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1",
        )
        .bind(LISTENER_NAME)
        .fetch_one(&self.pool)
        .await?;
        Ok((count as usize).max(1))
    }

    async fn release(&self, leases: &[Lease]) -> anyhow::Result<()> {
        release(&self.bookkeeping, leases).await
    }

    /// Three statements per batch, and one or two per webhook it concerns.
    async fn record(
        &self,
        outcomes: &[Outcome],
        switch_off: SwitchOff,
    ) -> anyhow::Result<Vec<String>> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.record_once(outcomes, switch_off).await {
                Err(error) if tries < RECORD_TRIES && worth_retrying(&error) => continue,
                done => return done,
            }
        }
    }
}

impl PostgresStore {
    async fn record_once(
        &self,
        outcomes: &[Outcome],
        switch_off: SwitchOff,
    ) -> anyhow::Result<Vec<String>> {
        let now = now_ms();
        let (switched_off, unsent) = self
            .fresh
            .leasing(async |handover| {
                let mut tx = self.bookkeeping.begin().await?;
                insert_attempts(&mut tx, outcomes).await?;
                let held = update_deliveries(&mut tx, outcomes, now).await?;
                lost_leases(outcomes, &held);
                let done =
                    consequences(&mut tx, outcomes, &held, switch_off, now, handover).await?;
                tx.commit().await.context("recording attempts")?;
                Ok((done.switched_off, done.next))
            })
            .await?;
        if !unsent.is_empty() {
            // The workers stopped meanwhile: the deliveries go back to the queue.
            self.release(&unsent).await?;
        }
        Ok(switched_off)
    }
}

/// Inserts the attempts of deliveries that still exist: a webhook deleted
/// while its attempts were in flight took its deliveries and their logs with
/// it, and its outcomes must not make the others' fail.
async fn insert_attempts(tx: &mut PgConnection, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let rows = outcomes
        .iter()
        .map(|outcome| AttemptColumns::of(&outcome.attempt))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let texts = |get: for<'r> fn(&'r AttemptColumns<'r>) -> Option<&'r str>| {
        rows.iter().map(get).collect::<Vec<_>>()
    };
    sqlx::query(
        "INSERT INTO attempts (delivery_id, webhook_id, succeeded, started_at, duration_ms,
             request_method, request_url, request_headers, request_body, body_from_event,
             body_location, response_status, response_headers, response_body, response_truncated,
             error_class, error)
         SELECT v.* FROM UNNEST($1::text[], $2::text[], $3::bool[], $4::int8[], $5::int8[],
             $6::text[], $7::text[], $8::text[], $9::text[], $10::bool[], $11::text[],
             $12::int8[], $13::text[], $14::text[], $15::bool[], $16::text[], $17::text[])
             AS v(delivery_id)
         WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = v.delivery_id)",
    )
    .bind(texts(|c| Some(&c.attempt.delivery_id)))
    .bind(texts(|c| Some(&c.attempt.webhook_id)))
    .bind(
        rows.iter()
            .map(|c| c.attempt.succeeded())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|c| c.attempt.started_at)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|c| c.attempt.duration_ms as i64)
            .collect::<Vec<_>>(),
    )
    .bind(texts(|c| Some(&c.attempt.request.method)))
    .bind(texts(|c| Some(&c.attempt.request.url)))
    .bind(texts(|c| Some(&c.request_headers)))
    .bind(texts(|c| Some(c.request_body)))
    .bind(rows.iter().map(|c| c.body_from_event).collect::<Vec<_>>())
    .bind(texts(|c| c.body_location))
    .bind(rows.iter().map(|c| c.response_status).collect::<Vec<_>>())
    .bind(texts(|c| c.response_headers.as_deref()))
    .bind(texts(|c| c.response_body))
    .bind(
        rows.iter()
            .map(|c| c.response_truncated)
            .collect::<Vec<_>>(),
    )
    .bind(texts(|c| c.attempt.error_class.as_deref()))
    .bind(texts(|c| c.attempt.error.as_deref()))
    .execute(&mut *tx)
    .await
    .context("inserting attempts")?;
    Ok(())
}

/// The deliveries' new state, for those still held under the outcome's
/// lease; returns their ids.
async fn update_deliveries(
    tx: &mut PgConnection,
    outcomes: &[Outcome],
    now: i64,
) -> anyhow::Result<HashSet<String>> {
    let (statuses, next_attempts): (Vec<&str>, Vec<Option<i64>>) = outcomes
        .iter()
        .map(|outcome| (outcome.next.as_str(), outcome.next.retry_at()))
        .unzip();
    let held = sqlx::query(
        "UPDATE deliveries d SET status = v.status, attempt_count = d.attempt_count + 1,
             next_attempt_at = v.next_attempt_at, lease_until = NULL,
             last_status_code = v.status_code, last_error = v.error,
             last_duration_ms = v.duration_ms, single_attempt = FALSE, updated_at = $7
         FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::int8[],
                 $8::int8[])
             AS v(id, status, next_attempt_at, status_code, error, duration_ms, lease_until)
         WHERE d.id = v.id AND d.lease_until = v.lease_until
         RETURNING d.id",
    )
    .bind(
        outcomes
            .iter()
            .map(|o| o.attempt.delivery_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(statuses)
    .bind(next_attempts)
    .bind(
        outcomes
            .iter()
            .map(|o| {
                o.attempt
                    .response
                    .as_ref()
                    .map(|r| i64::from(r.status_code))
            })
            .collect::<Vec<_>>(),
    )
    .bind(
        outcomes
            .iter()
            .map(|o| o.error_in_words.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        outcomes
            .iter()
            .map(|o| o.attempt.duration_ms as i64)
            .collect::<Vec<_>>(),
    )
    .bind(now)
    .bind(outcomes.iter().map(|o| o.lease_until).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await
    .context("updating deliveries")?;
    Ok(held.into_iter().map(|row| row.get("id")).collect())
}

/// Ends `leases` where they still hold, and announces those deliveries due.
pub(super) async fn release(bookkeeping: &PgPool, leases: &[Lease]) -> anyhow::Result<()> {
    let mut tx = bookkeeping.begin().await?;
    sqlx::query(
        "UPDATE deliveries d SET lease_until = NULL
         FROM UNNEST($1::text[], $2::int8[]) AS v(id, lease_until)
         WHERE d.id = v.id AND d.lease_until = v.lease_until",
    )
    .bind(
        leases
            .iter()
            .map(|l| l.delivery_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(leases.iter().map(|l| l.until).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    PostgresStore::announce_due(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}
