//! The outbox seen from the workers: claim due deliveries under a lease, load
//! what sending needs, record outcomes in batches.

use std::collections::HashSet;

use anyhow::Context;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::sql::{consequences, jobs};
use super::{MAX_PARAMS, SqliteStore};
use crate::store::deliveries::lost_leases;
use crate::store::deliveries::rate_limit;
use crate::store::rows::AttemptColumns;
use crate::store::{DueDelivery, Job, Lease, Outcome, QueueStore, SwitchOff};
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
            "SELECT d.id, d.webhook_id, octet_length(e.data) AS bytes, w.rate_limit
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
                rate_limit: rate_limit(row.get("rate_limit")),
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
        let claimed: Vec<&str> = claimed.iter().map(String::as_str).collect();
        let jobs = jobs(&mut writer, &claimed, lease_until).await;
        writer.restore().await?;
        jobs
    }

    async fn instances(&self) -> anyhow::Result<usize> {
        Ok(1)
    }

    async fn release(&self, leases: &[Lease]) -> anyhow::Result<()> {
        release(&self.writer, leases).await
    }

    /// A few statements per batch, not per attempt.
    async fn record(
        &self,
        outcomes: &[Outcome],
        switch_off: SwitchOff,
    ) -> anyhow::Result<Vec<String>> {
        let now = now_ms();
        let (switched_off, unsent) = self
            .fresh
            .leasing(async |handover| {
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
                let done =
                    consequences(&mut tx, outcomes, &held, switch_off, now, handover).await?;
                tx.commit().await.context("recording attempts")?;
                writer.restore().await?;
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
