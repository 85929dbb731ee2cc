//! Failed credentials per key. The one writer connection serializes the
//! transactions, so a read and the write that follows it cannot interleave.

use sqlx::SqliteConnection;

use super::SqliteStore;
use crate::store::{StrikeChange, Strikes, ThrottleStore};

async fn read(db: &mut SqliteConnection, key: &str) -> anyhow::Result<Option<Strikes>> {
    let row: Option<(i64, i64, i64)> =
        sqlx::query_as("SELECT failures, last_failure, allowed_at FROM throttles WHERE key = ?")
            .bind(key)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(failures, last_failure, allowed_at)| Strikes {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        last_failure,
        allowed_at,
    }))
}

#[async_trait::async_trait]
impl ThrottleStore for SqliteStore {
    async fn strikes(&self, keys: &[String]) -> anyhow::Result<Vec<Option<Strikes>>> {
        let mut db = self.reader.acquire().await?;
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            found.push(read(&mut db, key).await?);
        }
        Ok(found)
    }

    async fn change_strikes(
        &self,
        keys: &[String],
        change: &StrikeChange<'_>,
    ) -> anyhow::Result<(Vec<Option<Strikes>>, bool)> {
        let mut tx = self.writer.begin().await?;
        let mut current = Vec::with_capacity(keys.len());
        for key in keys {
            current.push(read(&mut tx, key).await?);
        }
        let Some(changed) = change(&current) else {
            return Ok((current, false));
        };
        for (key, strikes) in keys.iter().zip(changed) {
            if strikes.failures == 0 {
                sqlx::query("DELETE FROM throttles WHERE key = ?")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                continue;
            }
            sqlx::query(
                "INSERT INTO throttles (key, failures, last_failure, allowed_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                     last_failure = excluded.last_failure, allowed_at = excluded.allowed_at",
            )
            .bind(key)
            .bind(i64::from(strikes.failures))
            .bind(strikes.last_failure)
            .bind(strikes.allowed_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((current, true))
    }

    async fn prune_strikes(&self, before: i64, batch: u32) -> anyhow::Result<u64> {
        let result = sqlx::query(
            "DELETE FROM throttles WHERE key IN (
                 SELECT key FROM throttles WHERE last_failure < ? AND allowed_at < ? LIMIT ?)",
        )
        .bind(before)
        .bind(before)
        .bind(batch)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }
}
