//! What differs between the two databases for the queries written once in
//! `sql/`: which pool a query runs on, row locks, wake-ups, and jobs that one
//! instance runs at a time. Each backend implements it in its `mod.rs`.

use sqlx::{Database, Pool};

/// A job that one instance runs at a time, however many share the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Pruning,
}

#[async_trait::async_trait]
pub trait Dialect: Send + Sync {
    type Db: Database;

    /// Ends a `SELECT` whose rows the transaction then writes back: a row
    /// lock on PostgreSQL, where another instance may write them meanwhile;
    /// nothing on SQLite, whose one writer connection serializes transactions.
    const LOCK_ROWS: &'static str;

    /// For reads outside a transaction.
    fn reader(&self) -> &Pool<Self::Db>;

    /// For settings, published events and everything a client waits on.
    fn writer(&self) -> &Pool<Self::Db>;

    /// For the workers' claims and outcomes, which may commit without waiting
    /// for the disk.
    fn bookkeeping(&self) -> &Pool<Self::Db>;

    /// Tells every instance's workers, at the commit of `tx`, that deliveries
    /// are due now (this process's own are woken in process).
    async fn announce_due(tx: &mut <Self::Db as Database>::Connection) -> anyhow::Result<()>;

    /// Whether this instance runs `turn` in `tx` now: `false` while another
    /// instance's transaction runs it.
    async fn take_turn(
        tx: &mut <Self::Db as Database>::Connection,
        turn: Turn,
    ) -> anyhow::Result<bool>;
}
