//! The built-in object store: an object's change, its event and the
//! deliveries the event queues are written in one transaction.

use anyhow::Context;
use serde_json::{Map, Value};

use super::{Backend, enqueue};
use crate::model::EventAccepted;
use crate::store::objects::{Patched, created, deleted, parse_object, patched};
use crate::store::{Dialect, ObjectStore, Updated, new_id};
use crate::time::now_ms;

#[async_trait::async_trait]
impl ObjectStore for Backend {
    async fn create_object(
        &self,
        module: &str,
        mut data: Map<String, Value>,
    ) -> anyhow::Result<(Map<String, Value>, EventAccepted)> {
        let id = new_id("obj");
        data.insert("id".into(), Value::String(id.clone()));
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO objects (module, id, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(module)
        .bind(&id)
        .bind(serde_json::to_string(&data)?)
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
            sqlx::query_scalar("SELECT data FROM objects WHERE module = $1 AND id = $2")
                .bind(module)
                .bind(id)
                .fetch_optional(self.reader())
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
            "SELECT data FROM objects WHERE module = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(module)
        .bind(cursor.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|text| parse_object(text)).collect()
    }

    /// The object's row is locked from reading it to writing it back, so that
    /// two patches through two instances at once both apply.
    async fn update_object(
        &self,
        module: &str,
        id: &str,
        patch: Map<String, Value>,
    ) -> anyhow::Result<Updated> {
        let mut tx = self.writer().begin().await?;
        let old: Option<String> = sqlx::query_scalar(&format!(
            "SELECT data FROM objects WHERE module = $1 AND id = $2{}",
            Backend::LOCK_ROWS
        ))
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
        sqlx::query("UPDATE objects SET data = $1, updated_at = $2 WHERE module = $3 AND id = $4")
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
        let mut tx = self.writer().begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("DELETE FROM objects WHERE module = $1 AND id = $2 RETURNING data")
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
