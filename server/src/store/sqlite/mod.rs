//! The store on SQLite: one writer connection beside a few readers (WAL),
//! published events group-committed, every commit on `synchronous = FULL`
//! but the workers' bookkeeping.

mod outbox;
mod publish;
mod queue;
/// The queries both databases run, compiled for this one.
#[allow(clippy::duplicate_mod)] // once per database, on purpose
#[path = "../sql/mod.rs"]
mod sql;

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use tokio::sync::mpsc;

use super::Storage;
use super::dialect::{Dialect, Turn};

/// The store `sql/` is compiled for here.
type Backend = SqliteStore;

/// Parameters bound in one statement at most; SQLite takes up to 32,766.
const MAX_PARAMS: usize = 30_000;

/// The writer connection's page cache.
const WRITER_CACHE_KIB: u32 = 32 * 1024;

/// SQLite allows one writer at a time; a single writer connection turns
/// contention into an in-process queue instead of `SQLITE_BUSY` retries.
/// Readers run in parallel beside it (WAL).
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    checkpointer: SqlitePool,
    /// One connection for health checks, so that busy readers do not read
    /// as a database that is away.
    health: SqlitePool,
    /// Publications waiting for the group committer (`publish::commit_groups`).
    publisher: mpsc::Sender<super::outbox::Publication>,
    /// Where published deliveries go straight to this process's workers.
    fresh: crate::store::outbox::FreshDeliveries,
    callers: super::users::Callers,
    /// Held while the store is open: one process per database file.
    owner: Arc<Mutex<Option<std::fs::File>>>,
}

/// Brings the schema up to date on a connection of its own, with foreign
/// keys off: changing a table in SQLite means rebuilding it, and dropping the
/// old one must not delete the rows that reference it (sqlx runs each
/// migration in a transaction, inside which the pragma cannot change). The
/// references are checked once all are done.
async fn migrate(options: &SqliteConnectOptions) -> anyhow::Result<()> {
    let connection = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone().foreign_keys(false))
        .await?;
    sqlx::migrate!("./migrations").run(&connection).await?;
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&connection)
        .await?;
    connection.close().await;
    anyhow::ensure!(
        broken.is_empty(),
        "{} rows reference rows that are gone",
        broken.len()
    );
    Ok(())
}

#[async_trait::async_trait]
impl Dialect for SqliteStore {
    type Db = Sqlite;

    const LOCK_ROWS: &'static str = "";

    const CLAIM_ROWS: &'static str = "";

    const EVENTS_WITH_WORDS: (&'static str, &'static str) = (
        "SELECT e.id FROM events e WHERE e.rowid IN (
             SELECT rowid FROM event_words WHERE event_words MATCH ",
        ")",
    );

    /// Each word quoted (an FTS5 string: its `"` doubled), all of them asked for.
    fn words_bound(search: &str) -> String {
        search
            .split_whitespace()
            .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The one writer: SQLite has no other.
    fn bookkeeping(&self) -> &SqlitePool {
        &self.writer
    }

    /// One process: its workers are woken in process.
    async fn announce_due(_: &mut SqliteConnection) -> anyhow::Result<()> {
        Ok(())
    }

    /// One process: every turn is its own.
    async fn take_turn(_: &mut SqliteConnection, _: Turn) -> anyhow::Result<bool> {
        Ok(true)
    }
}

impl SqliteStore {
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
        let owner = own(options.get_filename())?;
        // The write-ahead log beside the database, which every commit appends to.
        let log = {
            let mut log = options.get_filename().as_os_str().to_owned();
            log.push("-wal");
            std::path::PathBuf::from(log)
        };
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // An embedded connection cannot go stale: no ping before each use.
            .test_before_acquire(false)
            // The writer's cache stays warm (readers' are dropped at every
            // commit); the workers' claims read through it. It leaves
            // checkpoints to `checkpoints`, off the path of every write.
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("journal_size_limit", (64 << 20).to_string()),
            )
            .await
            .with_context(|| format!("opening {url}"))?;
        migrate(&options).await.context("migrating the database")?;
        // A SQLite database belongs to one process: leases left by one that
        // died are void, and its deliveries go out again at once.
        sqlx::query("UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL")
            .execute(&writer)
            .await
            .context("releasing the leases of an earlier run")?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening {url} for checkpoints"))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.clone().read_only(true))
            .await
            .with_context(|| format!("opening {url} for reading"))?;
        let health = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening {url} for health checks"))?;
        tokio::spawn(checkpoints(checkpointer.clone(), writer.clone()));
        let fresh = crate::store::outbox::FreshDeliveries::default();
        let (publisher, publications) = mpsc::channel(1024);
        tokio::spawn(publish::commit_groups(
            writer.clone(),
            log,
            fresh.clone(),
            publications,
        ));
        Ok(Self {
            writer,
            reader,
            checkpointer,
            health,
            publisher,
            fresh,
            callers: super::users::Callers::default(),
            owner: Arc::new(Mutex::new(owner)),
        })
    }
}

#[async_trait::async_trait]
impl Storage for SqliteStore {
    async fn close(&self) {
        self.reader.close().await;
        self.health.close().await;
        self.checkpointer.close().await;
        self.writer.close().await;
        // Unlocked: another process may open the file now.
        self.owner.lock().expect("database owner").take();
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1 FROM webhooks LIMIT 1")
            .execute(&self.health)
            .await?;
        Ok(())
    }

    /// `VACUUM` rewrites the file; the log is then emptied. VACUUM may
    /// renumber the events' rowids, which their words are kept by: those
    /// are indexed again.
    async fn scrub(&self) -> anyhow::Result<()> {
        sqlx::query("VACUUM").execute(&self.writer).await?;
        let mut tx = self.writer.begin().await?;
        sqlx::query("INSERT INTO event_words (event_words) VALUES ('delete-all')")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO event_words (rowid, data) SELECT rowid, data FROM events")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

/// How often the write-ahead log is copied into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// Log pages past which a checkpoint waits for a pause between writes.
const LOG_PAGES_LIMIT: i64 = 16_384;

/// Copies the write-ahead log into the database beside the writer, which then
/// never stops to do it, until the store closes. A passive checkpoint waits
/// for nobody. The log starts over only when a checkpoint has caught up
/// before the next write, which a steady stream of writes can keep from
/// happening: past `LOG_PAGES_LIMIT` the checkpoint runs on the writer itself,
/// between two of its transactions.
async fn checkpoints(checkpointer: SqlitePool, writer: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    while !checkpointer.is_closed() {
        tick.tick().await;
        match checkpoint(&checkpointer).await {
            Ok(log_pages) if log_pages > LOG_PAGES_LIMIT => {
                if let Err(error) = checkpoint(&writer).await {
                    tracing::warn!(%error, "checkpoint on the writer failed");
                }
            }
            Ok(_) => {}
            Err(error) if !checkpointer.is_closed() => {
                tracing::warn!(%error, "checkpoint failed");
            }
            Err(_) => {}
        }
    }
}

/// A passive checkpoint on `pool`; returns how many pages the log holds.
async fn checkpoint(pool: &SqlitePool) -> sqlx::Result<i64> {
    let (_busy, log_pages, _copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await?;
    Ok(log_pages)
}

/// The writer with `synchronous = NORMAL` until `restore`: its commits
/// survive the process being killed but not a power cut, and cost no fsync.
/// For the workers' bookkeeping (leases, outcomes), whose loss means at
/// most a delivery sent twice; settings keep `FULL`, and published events
/// are made durable by syncing the log after their commit
/// (`outbox::answer_when_durable`). In WAL mode a later `FULL` commit
/// makes the earlier ones durable too.
async fn relaxed(writer: &SqlitePool) -> anyhow::Result<Relaxed> {
    let mut connection = writer.acquire().await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *connection)
        .await?;
    Ok(Relaxed {
        connection,
        restored: false,
    })
}

/// See `relaxed`. Dropped without `restore` (an error on the
/// way), the connection is closed rather than handed back relaxed.
struct Relaxed {
    connection: PoolConnection<Sqlite>,
    restored: bool,
}

impl Relaxed {
    async fn restore(mut self) -> anyhow::Result<()> {
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *self.connection)
            .await?;
        self.restored = true;
        Ok(())
    }
}

impl std::ops::Deref for Relaxed {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.connection
    }
}

impl std::ops::DerefMut for Relaxed {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.connection
    }
}

impl Drop for Relaxed {
    fn drop(&mut self) {
        if !self.restored {
            self.connection.close_on_drop();
        }
    }
}

/// Takes the database file for this process: a lock on `<file>.lock`, held
/// until the store closes or the process ends (even by SIGKILL). A second
/// process would void the first one's leases and write beside its single
/// writer: it refuses to start instead.
fn own(path: &std::path::Path) -> anyhow::Result<Option<std::fs::File>> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = std::path::PathBuf::from(lock_path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "{} is in use by another hookhub process: a SQLite database belongs to one \
             process (stop the other one, or run several instances on PostgreSQL)",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
}

/// Creates the database file readable by its owner only; SQLite gives its
/// WAL and shared-memory files the same permissions.
fn create_private(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
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
