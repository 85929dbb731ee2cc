//! View Logs: deliveries newest first, their attempts, redelivery.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::{QueryBuilder, Row};

use super::{Backend, Db, UNSUCCEEDED};
use crate::events::Event;
use crate::model::{AttemptRequest, AttemptResponse, DeliveryStatus};
use crate::store::rows::{EVENT_COLUMNS, EventRow};
use crate::store::{
    AttemptRecord, BodySource, Delivery, DeliveryFilter, Dialect, LogStore, Redelivery,
};
use crate::time::now_ms;

#[async_trait::async_trait]
impl LogStore for Backend {
    async fn deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<Delivery>> {
        let mut query = QueryBuilder::<Db>::new(SELECT_DELIVERY);
        query.push(" WHERE TRUE");
        push_delivery_filter(&mut query, filter, before);
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<DeliveryRow> = query.build_query_as().fetch_all(self.reader()).await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn delivery(&self, id: &str) -> anyhow::Result<Option<Delivery>> {
        let row: Option<DeliveryRow> = sqlx::query_as(&format!("{SELECT_DELIVERY} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.map(Delivery::try_from).transpose()
    }

    async fn attempts(&self, delivery_id: &str) -> anyhow::Result<Vec<AttemptRecord>> {
        let rows: Vec<AttemptRow> = sqlx::query_as(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = $1 ORDER BY id"
        ))
        .bind(delivery_id)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(AttemptRecord::try_from).collect()
    }

    async fn delivery_event(&self, delivery_id: &str) -> anyhow::Result<Option<Event>> {
        let row: Option<EventRow> = sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1"
        ))
        .bind(delivery_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(Event::try_from).transpose()
    }

    async fn redeliver(&self, id: &str) -> anyhow::Result<Redelivery> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let queued: Option<String> = sqlx::query_scalar(
            "UPDATE deliveries SET
                 single_attempt = CASE WHEN status IN ('succeeded', 'failed') THEN TRUE ELSE single_attempt END,
                 status = CASE WHEN status IN ('succeeded', 'failed') THEN 'pending' ELSE status END,
                 next_attempt_at = $1, updated_at = $1
             WHERE id = $2 AND status <> 'paused' AND (lease_until IS NULL OR lease_until < $1)
             RETURNING id",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if queued.is_some() {
            Backend::announce_due(&mut tx).await?;
            tx.commit().await?;
            return Ok(Redelivery::Queued);
        }
        tx.rollback().await?;
        Ok(match self.delivery(id).await? {
            Some(delivery) if delivery.status == DeliveryStatus::Paused => Redelivery::Paused,
            Some(_) => Redelivery::InFlight,
            None => Redelivery::Missing,
        })
    }

    async fn attention(&self, since: i64) -> anyhow::Result<(u64, u64)> {
        let (disabled, failed): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM webhooks WHERE disabled_reason IS NOT NULL),
                 (SELECT count(*) FROM deliveries
                  WHERE status = 'failed' AND status <> 'succeeded' AND updated_at >= $1)",
        )
        .bind(since)
        .fetch_one(self.reader())
        .await?;
        Ok((disabled as u64, failed as u64))
    }

    async fn paused_deliveries(
        &self,
        webhook_id: Option<&str>,
    ) -> anyhow::Result<HashMap<String, u64>> {
        let mut query = QueryBuilder::<Db>::new(
            "SELECT webhook_id, COUNT(*) AS paused FROM deliveries
             WHERE status = 'paused' AND status <> 'succeeded'",
        );
        of_webhook(&mut query, webhook_id);
        query.push(" GROUP BY webhook_id");
        let rows = query.build().fetch_all(self.reader()).await?;
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
        let mut query = QueryBuilder::<Db>::new(
            "SELECT webhook_id, COUNT(*) FILTER (WHERE succeeded) AS succeeded, COUNT(*) AS total
             FROM attempts WHERE started_at >= ",
        );
        query.push_bind(since);
        of_webhook(&mut query, webhook_id);
        query.push(" GROUP BY webhook_id");
        let rows = query.build().fetch_all(self.reader()).await?;
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
        let mut query = QueryBuilder::<Db>::new("SELECT (started_at - ");
        query.push_bind(since).push(") / ").push_bind(bucket_ms);
        query.push(
            " AS bucket, COUNT(*) FILTER (WHERE succeeded) AS succeeded,
                 COUNT(*) FILTER (WHERE NOT succeeded) AS failed
             FROM attempts WHERE started_at >= ",
        );
        query
            .push_bind(since)
            .push(" AND started_at < ")
            .push_bind(until);
        of_webhook(&mut query, webhook_id);
        query.push(" GROUP BY bucket ORDER BY bucket");
        let rows = query.build().fetch_all(self.reader()).await?;
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
        let mut tx = self.writer().begin().await?;
        let recovered = sqlx::query(
            "UPDATE deliveries SET status = 'pending', single_attempt = TRUE, next_attempt_at = $1,
                 updated_at = $1
             WHERE webhook_id = $2 AND status = 'failed' AND status <> 'succeeded'
               AND created_at >= $3 AND created_at < $4",
        )
        .bind(now)
        .bind(webhook_id)
        .bind(since)
        .bind(until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if recovered > 0 {
            Backend::announce_due(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(recovered)
    }
}

/// Narrows a query that ends in a condition to one webhook's rows, if asked.
fn of_webhook<'a>(query: &mut QueryBuilder<'a, Db>, webhook_id: Option<&'a str>) {
    if let Some(webhook_id) = webhook_id {
        query.push(" AND webhook_id = ").push_bind(webhook_id);
    }
}

/// The columns every delivery query selects, with its webhook's name and,
/// while it waits for its turn, the head of its ordering key.
const SELECT_DELIVERY: &str = "SELECT id, webhook_id, event_id, event_type, status, attempt_count,
    next_attempt_at, last_status_code, last_error, last_duration_ms, created_at, probe,
    ordering_key,
    (SELECT name FROM webhooks WHERE webhooks.id = deliveries.webhook_id) AS webhook_name,
    CASE WHEN ordering_key IS NOT NULL AND next_attempt_at IS NULL
            AND status IN ('pending', 'retrying') THEN
        (SELECT h.id FROM deliveries h
         WHERE h.ordering_key = deliveries.ordering_key AND h.webhook_id = deliveries.webhook_id
           AND h.ordering_key IS NOT NULL AND h.status IN ('pending', 'retrying', 'paused')
           AND NOT h.single_attempt AND h.key_seq < deliveries.key_seq
         ORDER BY h.key_seq LIMIT 1)
    END AS waits_for
    FROM deliveries";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    webhook_id: String,
    webhook_name: Option<String>,
    event_id: String,
    event_type: String,
    status: String,
    attempt_count: i64,
    next_attempt_at: Option<i64>,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    last_duration_ms: Option<i64>,
    created_at: i64,
    probe: bool,
    ordering_key: Option<String>,
    waits_for: Option<String>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = anyhow::Error;

    fn try_from(row: DeliveryRow) -> anyhow::Result<Self> {
        Ok(Delivery {
            id: row.id,
            webhook_id: row.webhook_id,
            webhook_name: row.webhook_name.unwrap_or_default(),
            event_id: row.event_id,
            event_type: row.event_type,
            status: DeliveryStatus::parse(&row.status).with_context(|| {
                format!("unknown delivery status `{}` in the database", row.status)
            })?,
            attempt_count: row.attempt_count as u32,
            next_attempt_at: row.next_attempt_at,
            last_status_code: row.last_status_code.map(|c| c as u16),
            last_error: row.last_error,
            last_duration_ms: row.last_duration_ms.map(|d| d as u64),
            created_at: row.created_at,
            probe: row.probe,
            ordering_key: row.ordering_key,
            waits_for: row.waits_for,
        })
    }
}

/// Appends the conditions of `filter` and the page boundary `before` to a
/// query on `deliveries` that ends in `WHERE TRUE`.
fn push_delivery_filter<'a>(
    query: &mut QueryBuilder<'a, Db>,
    filter: &'a DeliveryFilter,
    before: Option<&'a str>,
) {
    of_webhook(query, filter.webhook_id.as_deref());
    if let Some(status) = &filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
        if *status != DeliveryStatus::Succeeded {
            query.push(UNSUCCEEDED);
        }
    }
    match filter.event_type.as_deref() {
        None | Some("*") => {}
        // A range on the index: every type from `module.` up to `module/`
        // (in byte order: on PostgreSQL the column's collation is "C").
        Some(pattern) => match pattern.strip_suffix(".*") {
            Some(module) => {
                query
                    .push(" AND event_type >= ")
                    .push_bind(format!("{module}."));
                query
                    .push(" AND event_type < ")
                    .push_bind(format!("{module}/"));
            }
            None => {
                query.push(" AND event_type = ").push_bind(pattern);
            }
        },
    }
    // The event with that id, or those whose data holds every word (an
    // object's id is among its event's words). One `IN`, so that the
    // planner looks the few events up rather than scan the deliveries.
    if let Some(search) = &filter.search {
        let (select, close) = Backend::EVENTS_WITH_WORDS;
        query
            .push(" AND event_id IN (SELECT ")
            .push_bind(search.as_str())
            .push(" UNION ALL ")
            .push(select)
            .push_bind(Backend::words_bound(search))
            .push(close)
            .push(")");
    }
    if let Some(since) = filter.since {
        query.push(" AND created_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        query.push(" AND created_at < ").push_bind(until);
    }
    if let Some(before) = before {
        query.push(" AND id < ").push_bind(before);
    }
}

/// The columns every attempt query selects.
const ATTEMPT_COLUMNS: &str = "delivery_id, webhook_id, started_at, duration_ms, request_method,
    request_url, request_headers, request_body, body_from_event, body_location, response_status,
    response_headers, response_body, response_truncated, error_class, error";

#[derive(sqlx::FromRow)]
struct AttemptRow {
    delivery_id: String,
    webhook_id: String,
    started_at: i64,
    duration_ms: i64,
    request_method: String,
    request_url: String,
    request_headers: String,
    request_body: String,
    body_from_event: bool,
    body_location: Option<String>,
    response_status: Option<i64>,
    response_headers: Option<String>,
    response_body: Option<String>,
    response_truncated: bool,
    error_class: Option<String>,
    error: Option<String>,
}

impl TryFrom<AttemptRow> for AttemptRecord {
    type Error = anyhow::Error;

    fn try_from(row: AttemptRow) -> anyhow::Result<Self> {
        let response = match row.response_status {
            Some(status) => Some(AttemptResponse {
                status_code: status as u16,
                headers: serde_json::from_str(row.response_headers.as_deref().unwrap_or("{}"))?,
                body: row.response_body.unwrap_or_default(),
                body_truncated: row.response_truncated,
            }),
            None => None,
        };
        Ok(AttemptRecord {
            delivery_id: row.delivery_id,
            webhook_id: row.webhook_id,
            started_at: row.started_at,
            duration_ms: row.duration_ms as u64,
            request: AttemptRequest {
                method: row.request_method,
                url: row.request_url,
                headers: serde_json::from_str(&row.request_headers)?,
                body: row.request_body,
            },
            body_source: if row.body_from_event {
                BodySource::Event {
                    data_location: row.body_location,
                }
            } else {
                BodySource::Stored
            },
            response,
            error_class: row.error_class,
            error: row.error,
        })
    }
}
