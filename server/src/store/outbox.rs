//! Events in, deliveries out: every event is written with one delivery per
//! matching active webhook in the same transaction (the transactional outbox),
//! so that an acknowledged event is never lost.

use anyhow::Context;
use api::{EventAccepted, QueuedDelivery};
use serde_json::{Map, Value};
use sqlx::{Row, SqliteConnection};

use super::{Store, new_id, now_ms};
use crate::events::subscribed;
use crate::objects::{Change, apply_patch};

/// An event to accept.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub data: Value,
    pub change: Option<(Vec<String>, Map<String, Value>)>,
}

/// What `update_object` did.
pub enum Updated {
    Missing,
    Unchanged(Map<String, Value>),
    Changed(Map<String, Value>, EventAccepted),
}

/// An event written to the outbox and the deliveries it queued.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub event_id: String,
    pub deliveries: Vec<QueuedDelivery>,
}

impl Enqueued {
    pub fn accepted(&self) -> EventAccepted {
        EventAccepted {
            id: self.event_id.clone(),
            deliveries: self.deliveries.len(),
        }
    }
}

/// Writes `events` and their deliveries on `connection`, inside the caller's transaction.
pub(super) async fn enqueue(
    connection: &mut SqliteConnection,
    events: &[NewEvent],
) -> anyhow::Result<Vec<Enqueued>> {
    let now = now_ms();
    let webhooks: Vec<(String, Vec<String>)> =
        sqlx::query("SELECT id, events FROM webhooks WHERE active = 1")
            .fetch_all(&mut *connection)
            .await?
            .into_iter()
            .map(|row| {
                let patterns = serde_json::from_str(row.get("events")).context("webhook events")?;
                Ok((row.get("id"), patterns))
            })
            .collect::<anyhow::Result<_>>()?;
    let mut accepted = Vec::with_capacity(events.len());
    for event in events {
        let event_id = new_id("evt");
        let (changed_fields, previous) = match &event.change {
            Some((fields, previous)) => (
                Some(serde_json::to_string(fields)?),
                Some(serde_json::to_string(previous)?),
            ),
            None => (None, None),
        };
        sqlx::query("INSERT INTO events (id, type, data, changed_fields, previous, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&event_id)
            .bind(&event.event_type)
            .bind(serde_json::to_string(&event.data)?)
            .bind(changed_fields)
            .bind(previous)
            .bind(now)
            .execute(&mut *connection)
            .await?;
        let mut deliveries = Vec::new();
        for (webhook_id, patterns) in &webhooks {
            if !subscribed(patterns, &event.event_type) {
                continue;
            }
            let delivery_id = new_id("dlv");
            sqlx::query(
                "INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, next_attempt_at,
                     created_at, updated_at)
                 VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
            )
            .bind(&delivery_id)
            .bind(webhook_id)
            .bind(&event_id)
            .bind(&event.event_type)
            .bind(now)
            .bind(now)
            .bind(now)
            .execute(&mut *connection)
            .await?;
            deliveries.push(QueuedDelivery {
                id: delivery_id,
                webhook_id: webhook_id.clone(),
            });
        }
        accepted.push(Enqueued {
            event_id,
            deliveries,
        });
    }
    Ok(accepted)
}

fn parse_object(text: &str) -> anyhow::Result<Map<String, Value>> {
    serde_json::from_str(text).context("stored object")
}

impl Store {
    /// Accepts published events, all or none.
    pub async fn publish(&self, events: &[NewEvent]) -> anyhow::Result<Vec<EventAccepted>> {
        let mut tx = self.writer.begin().await?;
        let accepted = enqueue(&mut tx, events)
            .await?
            .iter()
            .map(Enqueued::accepted)
            .collect();
        tx.commit().await.context("committing events")?;
        Ok(accepted)
    }

    /// Stores a new object (given without `id`) and fires `{module}.create`.
    pub async fn create_object(
        &self,
        module: &str,
        mut data: Map<String, Value>,
    ) -> anyhow::Result<(Map<String, Value>, EventAccepted)> {
        let id = new_id("obj");
        data.insert("id".into(), Value::String(id.clone()));
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO objects (module, id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(module)
        .bind(&id)
        .bind(serde_json::to_string(&data)?)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let event = NewEvent {
            event_type: format!("{module}.create"),
            data: Value::Object(data.clone()),
            change: None,
        };
        let accepted = enqueue(&mut tx, &[event]).await?.remove(0).accepted();
        tx.commit().await.context("committing an object")?;
        Ok((data, accepted))
    }

    pub async fn object(
        &self,
        module: &str,
        id: &str,
    ) -> anyhow::Result<Option<Map<String, Value>>> {
        let data: Option<String> =
            sqlx::query_scalar("SELECT data FROM objects WHERE module = ? AND id = ?")
                .bind(module)
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
        data.as_deref().map(parse_object).transpose()
    }

    /// A page of a module's objects in id (creation) order, after `cursor`.
    pub async fn objects(
        &self,
        module: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<Map<String, Value>>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT data FROM objects WHERE module = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(module)
        .bind(cursor.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|text| parse_object(text)).collect()
    }

    /// Merges `patch` into an object and fires `{module}.update` if anything changed.
    pub async fn update_object(
        &self,
        module: &str,
        id: &str,
        patch: Map<String, Value>,
    ) -> anyhow::Result<Updated> {
        let mut tx = self.writer.begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT data FROM objects WHERE module = ? AND id = ?")
                .bind(module)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else {
            return Ok(Updated::Missing);
        };
        let Change {
            object,
            changed_fields,
            previous,
        } = apply_patch(&parse_object(&old)?, patch);
        if changed_fields.is_empty() {
            return Ok(Updated::Unchanged(object));
        }
        sqlx::query("UPDATE objects SET data = ?, updated_at = ? WHERE module = ? AND id = ?")
            .bind(serde_json::to_string(&object)?)
            .bind(now_ms())
            .bind(module)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let event = NewEvent {
            event_type: format!("{module}.update"),
            data: Value::Object(object.clone()),
            change: Some((changed_fields, previous)),
        };
        let accepted = enqueue(&mut tx, &[event]).await?.remove(0).accepted();
        tx.commit().await.context("committing an update")?;
        Ok(Updated::Changed(object, accepted))
    }

    /// Deletes an object and fires `{module}.delete` with it as it was; `None` if missing.
    pub async fn delete_object(
        &self,
        module: &str,
        id: &str,
    ) -> anyhow::Result<Option<EventAccepted>> {
        let mut tx = self.writer.begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("DELETE FROM objects WHERE module = ? AND id = ? RETURNING data")
                .bind(module)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else { return Ok(None) };
        let event = NewEvent {
            event_type: format!("{module}.delete"),
            data: Value::Object(parse_object(&old)?),
            change: None,
        };
        let accepted = enqueue(&mut tx, &[event]).await?.remove(0).accepted();
        tx.commit().await.context("committing a delete")?;
        Ok(Some(accepted))
    }
}
