//! The storage boundary: what the handlers and workers ask of a database,
//! as traits over domain types. Nothing here names a database; the SQLite
//! implementation lives in `sqlite`, the PostgreSQL one in `postgres`; both
//! read and write rows through `rows`.

mod deliveries;
mod dialect;
mod events;
mod logs;
mod objects;
mod operator;
pub(crate) mod outage;
mod outbox;
mod postgres;
mod retention;
mod rows;
mod sqlite;
mod throttles;
mod triggers;
mod users;
mod webhooks;

use std::sync::Arc;

pub use deliveries::{
    AttemptKind, AttemptRecord, BodySource, DeliveryStore, DueDelivery, Job, Lease, Next, Outcome,
    QueueDepth, QueueStore, SigningSecrets, SwitchOff,
};
use dialect::Dialect;
pub use events::{EventStore, IDEMPOTENCY_WINDOW_MS, NewEvent, QueuedEvent, WorkerRoom};
pub use logs::{Delivery, DeliveryFilter, LogStore, Redelivery};
pub use objects::{ObjectStore, Updated};
pub use outage::database_away;
pub use retention::RetentionStore;
pub use throttles::{STRIKE_MEMORY, StrikeChange, Strikes, ThrottleStore};
pub use triggers::{Trigger, TriggerAuth, TriggerCall, TriggerSettings, TriggerStore};
pub use users::{Caller, NewUser, TokenKind, User, UserDeletion, UserStore};
pub use webhooks::{Sealed, StoredAuth, Switch, Webhook, WebhookSettings, WebhookStore};

/// Everything hookhub keeps: one implementation per database.
#[async_trait::async_trait]
pub trait Storage:
    WebhookStore
    + TriggerStore
    + UserStore
    + ObjectStore
    + EventStore
    + QueueStore
    + DeliveryStore
    + LogStore
    + RetentionStore
    + ThrottleStore
{
    /// Waits for work in progress and closes the database.
    async fn close(&self);

    /// One round trip to the database: whether it can be reached now.
    async fn ping(&self) -> anyhow::Result<()>;

    /// Rewrites the stored data so that no freed space keeps a value that
    /// was since sealed. Slow on a large database: for a one-off upgrade.
    async fn scrub(&self) -> anyhow::Result<()>;
}

/// The store the server runs on, shared by handlers and workers.
pub type Store = Arc<dyn Storage>;

/// Opens (creating if needed) the database at `url`, chosen by its scheme,
/// and brings its schema up to date.
pub async fn open(url: &str) -> anyhow::Result<Store> {
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(sqlite::SqliteStore::open(url).await?));
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Ok(Arc::new(postgres::PostgresStore::open(url).await?));
    }
    anyhow::bail!("`{url}` is not a database URL hookhub knows (sqlite://... or postgres://...)")
}

/// Where a page of a list ordered by creation starts: after this
/// `(created_at, id)`. Ids break ties between rows made in the same millisecond.
pub type Position<'a> = (i64, &'a str);

/// Before every row.
const FIRST: Position<'static> = (i64::MIN, "");

/// A new time-ordered id with a prefix that says what it names (`wh_...`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
