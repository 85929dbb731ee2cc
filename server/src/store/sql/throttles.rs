//! Failed credentials per key, shared by every instance: a change locks the
//! keys' rows (made first if missing, so that there is a row to lock) until
//! its transaction ends.

use super::{Backend, Db};
use crate::store::{Dialect, StrikeChange, Strikes, ThrottleStore};

type Connection = <Db as sqlx::Database>::Connection;

async fn read(db: &mut Connection, key: &str, lock: bool) -> anyhow::Result<Option<Strikes>> {
    let lock = if lock { Backend::LOCK_ROWS } else { "" };
    let statement =
        format!("SELECT failures, last_failure, allowed_at FROM throttles WHERE key = $1{lock}");
    let row: Option<(i64, i64, i64)> = sqlx::query_as(&statement)
        .bind(key)
        .fetch_optional(db)
        .await?;
    Ok(row
        .map(|(failures, last_failure, allowed_at)| Strikes {
            failures: u32::try_from(failures).unwrap_or(u32::MAX),
            last_failure,
            allowed_at,
        })
        // A row made only to be locked holds no failure yet.
        .filter(|strikes| strikes.failures > 0))
}

#[async_trait::async_trait]
impl ThrottleStore for Backend {
    async fn strikes(&self, keys: &[String]) -> anyhow::Result<Vec<Option<Strikes>>> {
        let mut db = self.reader().acquire().await?;
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            found.push(read(&mut db, key, false).await?);
        }
        Ok(found)
    }

    async fn change_strikes(
        &self,
        keys: &[String],
        change: &StrikeChange<'_>,
    ) -> anyhow::Result<(Vec<Option<Strikes>>, bool)> {
        let mut tx = self.writer().begin().await?;
        // In one order everywhere, so that two attempts cannot deadlock.
        let mut order: Vec<&String> = keys.iter().collect();
        order.sort();
        for key in order {
            sqlx::query(
                "INSERT INTO throttles (key, failures, last_failure, allowed_at) VALUES ($1, 0, 0, 0)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .execute(&mut *tx)
            .await?;
            read(&mut tx, key, true).await?;
        }
        let mut current = Vec::with_capacity(keys.len());
        for key in keys {
            current.push(read(&mut tx, key, false).await?);
        }
        let Some(changed) = change(&current) else {
            return Ok((current, false));
        };
        for (key, strikes) in keys.iter().zip(changed) {
            if strikes.failures == 0 {
                sqlx::query("DELETE FROM throttles WHERE key = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                continue;
            }
            sqlx::query(
                "UPDATE throttles SET failures = $2, last_failure = $3, allowed_at = $4 WHERE key = $1",
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
        let forgotten = "last_failure < $1 AND allowed_at < $1";
        self.prune_rows("throttles", "key", forgotten, before, batch)
            .await
    }
}
