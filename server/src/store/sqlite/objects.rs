//! The built-in object store: an object's change, its event and the
//! deliveries the event queues are written in one transaction.

use anyhow::Context;
use serde_json::{Map, Value};

use super::SqliteStore;
use super::outbox::enqueue;
use crate::model::EventAccepted;
use crate::store::objects::{Patched, created, deleted, parse_object, patched};
use crate::store::{ObjectStore, Updated, new_id};
use crate::time::now_ms;

#[async_trait::async_trait]
impl ObjectStore for SqliteStore {
    async fn create_object(
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
        let accepted = enqueue(&mut tx, &[created(module, &data)])
            .await?
            .remove(0)
            .accepted();
        tx.commit().await.context("committing an object")?;
        Ok((data, accepted))
    }

    async fn object(&self, module: &str, id: &str) -> anyhow::Result<Option<Map<String, Value>>> {
        let data: Option<String> =
            sqlx::query_scalar("SELECT data FROM objects WHERE module = ? AND id = ?")
                .bind(module)
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
        data.as_deref().map(parse_object).transpose()
    }

    async fn objects(
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

    async fn update_object(
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
        let (object, event) = match patched(module, &old, patch)? {
            Patched::Unchanged(object) => return Ok(Updated::Unchanged(object)),
            Patched::Changed(object, event) => (object, event),
        };
        sqlx::query("UPDATE objects SET data = ?, updated_at = ? WHERE module = ? AND id = ?")
            .bind(serde_json::to_string(&object)?)
            .bind(now_ms())
            .bind(module)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let accepted = enqueue(&mut tx, &[event]).await?.remove(0).accepted();
        tx.commit().await.context("committing an update")?;
        Ok(Updated::Changed(object, accepted))
    }

    async fn delete_object(&self, module: &str, id: &str) -> anyhow::Result<Option<EventAccepted>> {
        let mut tx = self.writer.begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("DELETE FROM objects WHERE module = ? AND id = ? RETURNING data")
                .bind(module)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else { return Ok(None) };
        let accepted = enqueue(&mut tx, &[deleted(module, &old)?])
            .await?
            .remove(0)
            .accepted();
        tx.commit().await.context("committing a delete")?;
        Ok(Some(accepted))
    }
}
