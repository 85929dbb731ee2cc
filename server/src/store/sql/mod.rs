//! The queries both databases run, written once. This folder is compiled
//! twice, as a module of each backend (see `#[path]` in `sqlite/mod.rs` and
//! `postgres/mod.rs`): `Backend` is that backend's store and `Db` its sqlx
//! database, so every query is checked against both, and what differs
//! between the databases goes through `Dialect` and `Bulk`. Placeholders are
//! `$N` and booleans `TRUE`/`FALSE`, which SQLite reads as PostgreSQL does.

mod deliveries;
mod logs;
mod objects;
mod ordering;
mod outbox;
mod retention;
mod throttles;
mod triggers;
mod users;
mod webhooks;

use super::Backend;
pub(super) use deliveries::{consequences, jobs, release_paused};
pub(super) use outbox::{enqueue, subscribers, write_events};

type Db = <Backend as crate::store::Dialect>::Db;

/// The status indexes hold only deliveries that did not succeed (most
/// succeed at once, and each success moved entries in both). A query that
/// filters on another status says `status <> 'succeeded'` too, word for word,
/// so that the planners (SQLite's, and PostgreSQL's for a bound status) know
/// those indexes serve it.
const UNSUCCEEDED: &str = " AND status <> 'succeeded'";

/// A statement with its values, before it runs.
type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;
