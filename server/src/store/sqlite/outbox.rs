//! Many rows at once on SQLite: multi-row `VALUES` statements, as many as
//! the parameter limit needs.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{MAX_PARAMS, SqliteStore};
use crate::store::IDEMPOTENCY_WINDOW_MS;
use crate::store::dialect::Bulk;
use crate::store::outbox::{DeliveryColumns, Enqueued, EventColumns, Original};
use crate::time::now_ms;

#[async_trait::async_trait]
impl Bulk for SqliteStore {
    /// One key at a time: the one writer serializes transactions.
    async fn claim_keys(
        connection: &mut SqliteConnection,
        keys: &[&str],
    ) -> anyhow::Result<HashMap<String, Original>> {
        let now = now_ms();
        let mut taken = HashMap::new();
        for &key in keys {
            let claimed: Option<String> = sqlx::query_scalar(
                "INSERT INTO idempotency_keys (idempotency_key, event_id, deliveries, created_at)
                 VALUES (?, '', 0, ?)
                 ON CONFLICT (idempotency_key) DO UPDATE
                     SET event_id = '', deliveries = 0, created_at = excluded.created_at
                     WHERE idempotency_keys.created_at < ?
                 RETURNING idempotency_key",
            )
            .bind(key)
            .bind(now)
            .bind(now - IDEMPOTENCY_WINDOW_MS)
            .fetch_optional(&mut *connection)
            .await?;
            if claimed.is_none() {
                let (event_id, deliveries): (String, i64) = sqlx::query_as(
                    "SELECT event_id, deliveries FROM idempotency_keys WHERE idempotency_key = ?",
                )
                .bind(key)
                .fetch_one(&mut *connection)
                .await?;
                let deliveries = deliveries as usize;
                taken.insert(
                    key.to_string(),
                    Original {
                        event_id,
                        deliveries,
                    },
                );
            }
        }
        Ok(taken)
    }

    async fn name_keys(
        connection: &mut SqliteConnection,
        claimed: &[(&str, &str, usize)],
    ) -> anyhow::Result<()> {
        for (key, event_id, deliveries) in claimed {
            sqlx::query(
                "UPDATE idempotency_keys SET event_id = $1, deliveries = $2
                 WHERE idempotency_key = $3",
            )
            .bind(event_id)
            .bind(*deliveries as i64)
            .bind(key)
            .execute(&mut *connection)
            .await?;
        }
        Ok(())
    }

    async fn insert_events(
        connection: &mut SqliteConnection,
        rows: &[EventColumns<'_>],
        enqueued: &[Enqueued],
    ) -> anyhow::Result<()> {
        let Some(now) = enqueued.first().map(|event| event.created_at) else {
            return Ok(());
        };
        let numbered: Vec<_> = rows.iter().zip(enqueued).collect();
        for chunk in numbered.chunks(MAX_PARAMS / 6) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (id, type, data, changed_fields, previous, created_at) ",
            );
            query.push_values(chunk, |mut row, (event, enqueued)| {
                row.push_bind(&enqueued.event_id)
                    .push_bind(event.event_type)
                    .push_bind(&event.data)
                    .push_bind(&event.changed_fields)
                    .push_bind(&event.previous)
                    .push_bind(now);
            });
            query.build().execute(&mut *connection).await?;
        }
        let deferred: Vec<_> = numbered.iter().filter(|(_, e)| e.deferred > 0).collect();
        for chunk in deferred.chunks(MAX_PARAMS / 4) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO fanouts (event_id, created_at, ordering_key, key_seq) ",
            );
            query.push_values(chunk, |mut row, (event, enqueued)| {
                row.push_bind(&enqueued.event_id)
                    .push_bind(now)
                    .push_bind(event.ordering_key)
                    .push_bind(event.key_seq);
            });
            query.build().execute(&mut *connection).await?;
        }
        Ok(())
    }

    async fn insert_deliveries(
        connection: &mut SqliteConnection,
        rows: &[DeliveryColumns<'_>],
        now: i64,
    ) -> anyhow::Result<()> {
        for chunk in rows.chunks(MAX_PARAMS / 11) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, next_attempt_at,
                     lease_until, ordering_key, key_seq, created_at, updated_at) ",
            );
            query.push_values(chunk, |mut row, delivery| {
                row.push_bind(delivery.id)
                    .push_bind(delivery.webhook_id)
                    .push_bind(delivery.event_id)
                    .push_bind(delivery.event_type)
                    .push_bind(delivery.status)
                    .push_bind(delivery.next_attempt_at)
                    .push_bind(delivery.lease_until)
                    .push_bind(delivery.ordering_key)
                    .push_bind(delivery.key_seq)
                    .push_bind(now)
                    .push_bind(now);
            });
            query.build().execute(&mut *connection).await?;
        }
        Ok(())
    }
}
