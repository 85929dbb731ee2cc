//! View Logs: deliveries newest first, their attempts, redelivery.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteStore;
use crate::events::Event;
use crate::model::DeliveryStatus;
use crate::store::rows::{
    ATTEMPT_COLUMNS, AttemptRow, DeliveryRow, EVENT_COLUMNS, EventRow, SELECT_DELIVERY,
    push_delivery_filter,
};
use crate::store::{AttemptRecord, Delivery, DeliveryFilter, LogStore, Redelivery};
use crate::time::now_ms;

#[async_trait::async_trait]
impl LogStore for SqliteStore {
    async fn deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<Delivery>> {
        let mut query = QueryBuilder::<Sqlite>::new(SELECT_DELIVERY);
        query.push(" WHERE TRUE");
        push_delivery_filter(&mut query, filter, before);
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<DeliveryRow> = query.build_query_as().fetch_all(&self.reader).await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn delivery(&self, id: &str) -> anyhow::Result<Option<Delivery>> {
        let row: Option<DeliveryRow> = sqlx::query_as(&format!("{SELECT_DELIVERY} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(Delivery::try_from).transpose()
    }

    async fn attempts(&self, delivery_id: &str) -> anyhow::Result<Vec<AttemptRecord>> {
        let rows: Vec<AttemptRow> = sqlx::query_as(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = ? ORDER BY id"
        ))
        .bind(delivery_id)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(AttemptRecord::try_from).collect()
    }

    async fn delivery_event(&self, delivery_id: &str) -> anyhow::Result<Option<Event>> {
        let row: Option<EventRow> = sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?"
        ))
        .bind(delivery_id)
        .fetch_optional(&self.reader)
        .await?;
        row.map(Event::try_from).transpose()
    }

    async fn redeliver(&self, id: &str) -> anyhow::Result<Redelivery> {
        let now = now_ms();
        let queued: Option<String> = sqlx::query_scalar(
            "UPDATE deliveries SET
                 single_attempt = CASE WHEN status IN ('succeeded', 'failed') THEN 1 ELSE single_attempt END,
                 status = CASE WHEN status IN ('succeeded', 'failed') THEN 'pending' ELSE status END,
                 next_attempt_at = ?, updated_at = ?
             WHERE id = ? AND status <> 'paused' AND (lease_until IS NULL OR lease_until < ?)
             RETURNING id",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .bind(now)
        .fetch_optional(&self.writer)
        .await?;
        if queued.is_some() {
            return Ok(Redelivery::Queued);
        }
        Ok(match self.delivery(id).await? {
            Some(delivery) if delivery.status == DeliveryStatus::Paused => Redelivery::Paused,
            Some(_) => Redelivery::InFlight,
            None => Redelivery::Missing,
        })
    }

    async fn attention(&self, since: i64) -> anyhow::Result<(u64, u64)> {
        let (disabled, failed): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM webhooks WHERE disabled_reason IS NOT NULL),
                 (SELECT count(*) FROM deliveries WHERE status = 'failed' AND updated_at >= ?)",
        )
        .bind(since)
        .fetch_one(&self.reader)
        .await?;
        Ok((disabled as u64, failed as u64))
    }

    async fn paused_deliveries(
        &self,
        webhook_id: Option<&str>,
    ) -> anyhow::Result<HashMap<String, u64>> {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT webhook_id, COUNT(*) AS paused FROM deliveries WHERE status = 'paused'",
        );
        if let Some(webhook_id) = webhook_id {
            query.push(" AND webhook_id = ").push_bind(webhook_id);
        }
        query.push(" GROUP BY webhook_id");
        let rows = query.build().fetch_all(&self.reader).await?;
        Ok(rows
            .iter()
            .map(|row| (row.get("webhook_id"), row.get::<i64, _>("paused") as u64))
            .collect())
    }

    async fn attempt_totals(
        &self,
        since: i64,
        webhook_id: Option<&str>,
    ) -> anyhow::Result<HashMap<String, (u64, u64)>> {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT webhook_id, SUM(succeeded) AS succeeded, COUNT(*) AS total FROM attempts WHERE started_at >= ",
        );
        query.push_bind(since);
        if let Some(webhook_id) = webhook_id {
            query.push(" AND webhook_id = ").push_bind(webhook_id);
        }
        query.push(" GROUP BY webhook_id");
        let rows = query.build().fetch_all(&self.reader).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let succeeded: i64 = row.get("succeeded");
                let total: i64 = row.get("total");
                (row.get("webhook_id"), (succeeded as u64, total as u64))
            })
            .collect())
    }

    async fn attempt_histogram(
        &self,
        webhook_id: Option<&str>,
        since: i64,
        until: i64,
        bucket_ms: i64,
    ) -> anyhow::Result<Vec<(i64, u64, u64)>> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT (started_at - ");
        query.push_bind(since).push(") / ").push_bind(bucket_ms);
        query.push(" AS bucket, SUM(succeeded) AS succeeded, COUNT(*) - SUM(succeeded) AS failed FROM attempts WHERE started_at >= ");
        query
            .push_bind(since)
            .push(" AND started_at < ")
            .push_bind(until);
        if let Some(webhook_id) = webhook_id {
            query.push(" AND webhook_id = ").push_bind(webhook_id);
        }
        query.push(" GROUP BY bucket ORDER BY bucket");
        let rows = query.build().fetch_all(&self.reader).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let bucket: i64 = row.get("bucket");
                let succeeded: i64 = row.get("succeeded");
                let failed: i64 = row.get("failed");
                (since + bucket * bucket_ms, succeeded as u64, failed as u64)
            })
            .collect())
    }

    async fn recover(&self, webhook_id: &str, since: i64, until: i64) -> anyhow::Result<u64> {
        let now = now_ms();
        let result = sqlx::query(
            "UPDATE deliveries SET status = 'pending', single_attempt = 1, next_attempt_at = ?, updated_at = ?
             WHERE webhook_id = ? AND status = 'failed' AND created_at >= ? AND created_at < ?",
        )
        .bind(now)
        .bind(now)
        .bind(webhook_id)
        .bind(since)
        .bind(until)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }
}
