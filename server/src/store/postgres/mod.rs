//! The store on PostgreSQL, for several hookhub instances sharing one queue:
//! published deliveries go to the publishing instance's workers while they
//! have room, claims skip what another instance is claiming, leases end a
//! dead instance's claims, and a notification on every commit of deliveries
//! left in the queue wakes the instances' workers (each also polls, should
//! one be missed).

mod deliveries;
mod logs;
mod objects;
mod outbox;
mod retention;
mod triggers;
mod users;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::Notify;

use super::Storage;

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
    /// Where published deliveries go straight to this instance's workers.
    fresh: super::outbox::FreshDeliveries,
    callers: super::users::Callers,
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to date;
    /// instances starting at once migrate one after the other.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .context(
                "not a PostgreSQL URL hookhub can use (postgres://user:password@host/database)",
            )?
            .application_name("hookhub");
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            // A broken connection fails its query and is dropped; no ping
            // (one more round trip) before every use.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .context("connecting to PostgreSQL")?;
        sqlx::migrate!("./migrations-pg")
            .run(&pool)
            .await
            .context("migrating the database")?;
        let bookkeeping = PgPoolOptions::new()
            .max_connections(BOOKKEEPING_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .connect_with(options.clone().options([("synchronous_commit", "off")]))
            .await
            .context("connecting to PostgreSQL")?;
        let listening = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.application_name(LISTENER_NAME))
            .await
            .context("connecting to PostgreSQL to listen")?;
        Ok(Self {
            pool,
            bookkeeping,
            listening,
            fresh: super::outbox::FreshDeliveries::default(),
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
        self.bookkeeping.close().await;
        self.pool.close().await;
    }
}

/// Announces, at the commit of `tx`, that deliveries are due now.
async fn announce_due(tx: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(DUE_CHANNEL)
        .execute(&mut *tx)
        .await?;
    Ok(())
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
