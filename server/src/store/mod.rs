//! The database. Handlers see domain types and methods only; SQL and the
//! SQLite specifics stay in this module, so that PostgreSQL can come in behind
//! the same methods.

mod deliveries;
mod logs;
mod outbox;
mod retention;
mod triggers;
mod users;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use deliveries::{AttemptRecord, Job, Next, Outcome, SigningSecrets};
pub use logs::{Delivery, DeliveryFilter, Redelivery};
pub use outbox::{Enqueued, NewEvent, Updated};
pub use triggers::{Trigger, TriggerAuth, TriggerCall, TriggerSettings};
pub use users::{Caller, NewUser, TokenKind, User, UserDeletion};
pub use webhooks::{Sealed, StoredAuth, Webhook, WebhookSettings};

/// SQLite allows one writer at a time; a single writer connection turns
/// contention into an in-process queue instead of `SQLITE_BUSY` retries.
/// Readers run in parallel beside it (WAL).
#[derive(Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("`{url}` is not a database URL hookhub knows (sqlite://...)"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit survives power loss, not just a crash, before we acknowledge it.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        create_private(options.get_filename())?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening {url}"))?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .context("migrating the database")?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening {url} for reading"))?;
        Ok(Self { writer, reader })
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// Creates the database file readable by its owner only; SQLite gives its
/// WAL and shared-memory files the same permissions.
fn create_private(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(())
}

/// Unix milliseconds, the database's unit of time.
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// A new time-ordered id with a prefix that says what it names (`wh_...`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
