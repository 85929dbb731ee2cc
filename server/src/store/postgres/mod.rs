//! The store on PostgreSQL, for several hookhub instances sharing one queue:
//! published deliveries go to the publishing instance's workers while they
//! have room, claims skip what another instance is claiming, leases end a
//! dead instance's claims, and a notification on every commit of deliveries
//! left in the queue wakes the instances' workers (each also polls, should
//! one be missed).

mod outbox;
mod queue;
/// The queries both databases run, compiled for this one.
#[allow(clippy::duplicate_mod)] // once per database, on purpose
#[path = "../sql/mod.rs"]
mod sql;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres};
use tokio::sync::{Notify, mpsc};

use super::Storage;
use super::dialect::{Dialect, Turn};

/// The store `sql/` is compiled for here.
type Backend = PostgresStore;

/// Connections per instance for handlers and the Test button.
const CONNECTIONS: u32 = 16;
/// Connections per instance for the workers' bookkeeping (claims, outcomes).
const BOOKKEEPING_CONNECTIONS: u32 = 4;

/// The channel that commits of deliveries due now are announced on.
const DUE_CHANNEL: &str = "hookhub_deliveries_due";

/// How an instance's listening connection introduces itself: counting them
/// tells how many instances share the queue.
const LISTENER_NAME: &str = "hookhub-listener";

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// For the workers' claims and outcomes: commits that do not wait for
    /// the disk (`synchronous_commit = off`; PostgreSQL still writes them in
    /// order). Losing the last of them to a crash means at most a delivery
    /// sent twice, which a crash may cause anyway; settings and published
    /// events commit on `pool`, durably.
    bookkeeping: PgPool,
    /// One connection that listens on `DUE_CHANNEL`.
    listening: PgPool,
    /// One connection for health checks, so that a busy pool does not read
    /// as a database that is away.
    health: PgPool,
    /// Where published deliveries go straight to this instance's workers.
    fresh: super::outbox::FreshDeliveries,
    /// To the committers (`outbox::commit_groups`).
    publisher: mpsc::Sender<super::outbox::Publication>,
    callers: super::users::Callers,
}

/// How long a caller waits for a connection: past it, the database is taken
/// to be away (a 503) rather than making every request wait.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// A connection idle this long is checked before use: the server may have
/// closed it meanwhile (a restart, a failover), and a dead one must not be
/// handed to a request. A busy pool's connections are never this idle.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);
/// Waits between attempts to reach a database that is away at start.
const FIRST_WAIT: Duration = Duration::from_millis(500);
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// A pool of `size` connections as every pool of the store opens them.
async fn connect(options: PgConnectOptions, size: u32) -> sqlx::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // No ping before every use (one more round trip); only after an idle spell.
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_IDLE_AFTER {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
}

/// `connect`, trying again with a growing wait while the database is away
/// (an instance started during an outage waits for it instead of exiting);
/// any other error (a wrong password, no such database) stops the start.
async fn connect_when_up(options: PgConnectOptions, size: u32) -> anyhow::Result<PgPool> {
    let mut wait = FIRST_WAIT;
    loop {
        match connect(options.clone(), size).await {
            Ok(pool) => return Ok(pool),
            Err(error) => {
                let error = anyhow::Error::from(error);
                if !super::database_away(&error) {
                    return Err(error.context("connecting to PostgreSQL"));
                }
                tracing::warn!(
                    error = format!("{error:#}"),
                    retry_in_ms = wait.as_millis() as u64,
                    "PostgreSQL cannot be reached; waiting for it"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LONGEST_WAIT);
            }
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (waiting for it while it is away)
    /// and brings its schema up to date; instances starting at once migrate
    /// one after the other.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .context(
                "not a PostgreSQL URL hookhub can use (postgres://user:password@host/database)",
            )?
            .application_name("hookhub");
        let pool = connect_when_up(options.clone(), CONNECTIONS).await?;
        sqlx::migrate!("./migrations-pg")
            .run(&pool)
            .await
            .context("migrating the database")?;
        let bookkeeping = connect_when_up(
            options.clone().options([("synchronous_commit", "off")]),
            BOOKKEEPING_CONNECTIONS,
        )
        .await?;
        let health = connect_when_up(options.clone(), 1).await?;
        let listening = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.application_name(LISTENER_NAME))
            .await
            .context("connecting to PostgreSQL to listen")?;
        let fresh = super::outbox::FreshDeliveries::default();
        let (publisher, publications) = mpsc::channel(1024);
        let publications = Arc::new(tokio::sync::Mutex::new(publications));
        for _ in 0..outbox::COMMITTERS {
            tokio::spawn(outbox::commit_groups(
                pool.clone(),
                bookkeeping.clone(),
                fresh.clone(),
                publications.clone(),
            ));
        }
        Ok(Self {
            pool,
            bookkeeping,
            listening,
            health,
            fresh,
            publisher,
            callers: super::users::Callers::default(),
        })
    }

    /// Wakes `wake` at every announcement on `DUE_CHANNEL`, until the store
    /// closes; a lost connection is made again (the workers' polling covers
    /// what was announced meanwhile).
    async fn listen(listening: PgPool, wake: Arc<Notify>) {
        let mut listener = loop {
            let connected = async {
                let mut listener = PgListener::connect_with(&listening).await?;
                listener.listen(DUE_CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            match connected.await {
                Ok(listener) => break listener,
                Err(_) if listening.is_closed() => return,
                Err(error) => {
                    tracing::warn!(%error, "listening for new deliveries failed; polling meanwhile");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        loop {
            match listener.recv().await {
                Ok(_) => wake.notify_one(),
                Err(_) if listening.is_closed() => return,
                Err(error) => {
                    tracing::warn!(%error, "listening for new deliveries failed; polling meanwhile");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl Storage for PostgresStore {
    async fn close(&self) {
        self.listening.close().await;
        self.health.close().await;
        self.bookkeeping.close().await;
        self.pool.close().await;
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.health).await?;
        Ok(())
    }

    /// `VACUUM FULL` rewrites the table, leaving no dead row versions behind.
    async fn scrub(&self) -> anyhow::Result<()> {
        sqlx::query("VACUUM FULL webhooks")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The advisory lock that pruning holds (any number unique to hookhub).
const PRUNING: i64 = 0x686f_6f6b_6875_6201;

#[async_trait::async_trait]
impl Dialect for PostgresStore {
    type Db = Postgres;

    const LOCK_ROWS: &'static str = " FOR UPDATE";

    const CLAIM_ROWS: &'static str = " FOR UPDATE SKIP LOCKED";

    const EVENTS_WITH_WORDS: (&'static str, &'static str) = (
        "SELECT id FROM events WHERE to_tsvector('simple', data) @@ plainto_tsquery('simple', ",
        ")",
    );

    /// The text as typed: `plainto_tsquery` asks for all its words.
    fn words_bound(search: &str) -> String {
        search.to_string()
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn bookkeeping(&self) -> &PgPool {
        &self.bookkeeping
    }

    /// A notification on `DUE_CHANNEL`, sent at the commit.
    async fn announce_due(tx: &mut PgConnection) -> anyhow::Result<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(DUE_CHANNEL)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// A transaction-scoped advisory lock per turn: an instance that finds
    /// it taken leaves the work to the one holding it.
    async fn take_turn(tx: &mut PgConnection, turn: Turn) -> anyhow::Result<bool> {
        let lock = match turn {
            Turn::Pruning => PRUNING,
        };
        Ok(sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(lock)
            .fetch_one(&mut *tx)
            .await?)
    }
}

/// Whether `error` is PostgreSQL giving up a transaction that may succeed
/// when tried again (a deadlock, a serialization failure).
fn worth_retrying(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<sqlx::Error>()
        .and_then(|error| error.as_database_error())
        .and_then(|error| error.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}
