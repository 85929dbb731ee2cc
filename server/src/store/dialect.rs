//! What differs between the two databases for the queries written once in
//! `sql/`: which pool a query runs on, row locks, wake-ups, jobs that one
//! instance runs at a time (`Dialect`, in each backend's `mod.rs`), and how
//! many rows are written at once (`Bulk`, in each backend's `outbox.rs`).

use std::collections::HashMap;

use sqlx::{Database, Pool};

use super::outbox::{DeliveryColumns, Enqueued, EventColumns, Original};

type Connection<D> = <<D as Dialect>::Db as Database>::Connection;

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

    /// Ends a `SELECT` that takes rows for this instance to work on: rows
    /// another instance is taking are skipped (PostgreSQL); nothing on SQLite.
    const CLAIM_ROWS: &'static str;

    /// A `SELECT` of the ids of the events whose data holds every word of
    /// the text bound between its two halves (`words_bound`): FTS5 on
    /// SQLite, a GIN index over `to_tsvector` on PostgreSQL.
    const EVENTS_WITH_WORDS: (&'static str, &'static str);

    /// What `EVENTS_WITH_WORDS` binds for a search's text.
    fn words_bound(search: &str) -> String;

    /// For reads outside a transaction.
    fn reader(&self) -> &Pool<Self::Db>;

    /// For settings, published events and everything a client waits on.
    fn writer(&self) -> &Pool<Self::Db>;

    /// For the workers' claims and outcomes, which may commit without waiting
    /// for the disk.
    fn bookkeeping(&self) -> &Pool<Self::Db>;

    /// Tells every instance's workers, at the commit of `tx`, that deliveries
    /// are due now (this process's own are woken in process).
    async fn announce_due(tx: &mut Connection<Self>) -> anyhow::Result<()>;

    /// Whether this instance runs `turn` in `tx` now: `false` while another
    /// instance's transaction runs it.
    async fn take_turn(tx: &mut Connection<Self>, turn: Turn) -> anyhow::Result<bool>;
}

/// Writing many rows at once, in the caller's transaction and in a few
/// statements however many rows there are: arrays on PostgreSQL (one
/// statement text, whatever the count), multi-row `VALUES` on SQLite.
#[async_trait::async_trait]
pub trait Bulk: Dialect {
    /// Claims each idempotency key for the transaction, unless it names an
    /// event accepted within the window: returns those that do, with their events.
    async fn claim_keys(
        tx: &mut Connection<Self>,
        keys: &[&str],
    ) -> anyhow::Result<HashMap<String, Original>>;

    /// Names the events of claimed keys: (key, event id, deliveries queued).
    async fn name_keys(
        tx: &mut Connection<Self>,
        claimed: &[(&str, &str, usize)],
    ) -> anyhow::Result<()>;

    /// Writes planned events (not their deliveries), and a `fanouts` row for
    /// each whose deliveries are written later.
    async fn insert_events(
        tx: &mut Connection<Self>,
        rows: &[EventColumns<'_>],
        enqueued: &[Enqueued],
    ) -> anyhow::Result<()>;

    /// Writes delivery rows.
    async fn insert_deliveries(
        tx: &mut Connection<Self>,
        rows: &[DeliveryColumns<'_>],
        now: i64,
    ) -> anyhow::Result<()>;
}
