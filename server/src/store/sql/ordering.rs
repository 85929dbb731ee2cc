//! Ordering keys (SPEC.md "Ordering"; docs/decisions.md, Delivery): the
//! deliveries of one key to one webhook go one at a time, in the order their
//! events were accepted, while every other key and every unkeyed delivery
//! goes at its own pace.
//!
//! An event accepted with a key takes the next place in it (`key_seq`,
//! counted in `ordering_keys`). Its deliveries are written *waiting*:
//! pending with no due time, so that the claims, which read the due index,
//! never see them. A (webhook, key)'s *head* is its unfinished delivery with
//! the lowest place; `promote` makes a waiting head due. It runs where a head
//! may change: when keyed deliveries are written, when one ends (succeeded or
//! failed), and when paused ones are released. Each is one indexed probe per
//! (webhook, key), never a scan of the key's history.
//!
//! On PostgreSQL several instances write and end deliveries of one key at
//! once: each transaction that does first locks the key's row in
//! `ordering_keys` (in sorted order, so two cannot wait for each other), so
//! that the one that commits second sees what the first did.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use sqlx::{QueryBuilder, Row};

use super::{Backend, Db, jobs};
use crate::store::outbox::{Deferred, Places, Reservation};
use crate::store::{Dialect, Job, NewEvent, Outcome};
use crate::time::now_ms;

type Connection = <Db as sqlx::Database>::Connection;

/// Rows in one statement at most (a few parameters each).
const CHUNK: usize = 1000;

/// An unfinished delivery (the partial index `deliveries_in_order` holds
/// exactly these among the keyed ones).
const UNFINISHED: &str = "status IN ('pending', 'retrying', 'paused')";

/// Gives each keyed event of `events` its place in its key, in the order
/// given, and says which keys still have events waiting to be fanned out.
/// Locks the keys' rows until the transaction ends.
pub(in super::super) async fn places(
    tx: &mut Connection,
    events: &[&NewEvent],
) -> anyhow::Result<Places> {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for key in events.iter().filter_map(|e| e.ordering_key.as_deref()) {
        *counts.entry(key).or_default() += 1;
    }
    if counts.is_empty() {
        return Ok(Places::default());
    }
    let mut keys: Vec<(&str, i64)> = counts.into_iter().collect();
    keys.sort_unstable();
    let now = now_ms();
    let mut next: HashMap<String, i64> = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let mut query =
            QueryBuilder::<Db>::new("INSERT INTO ordering_keys (ordering_key, last_seq, used_at) ");
        query.push_values(chunk, |mut row, (key, count)| {
            row.push_bind(*key).push_bind(*count).push_bind(now);
        });
        query.push(
            " ON CONFLICT (ordering_key) DO UPDATE
                 SET last_seq = ordering_keys.last_seq + excluded.last_seq, used_at = excluded.used_at
             RETURNING ordering_key, last_seq",
        );
        let rows = query
            .build()
            .fetch_all(&mut *tx)
            .await
            .context("numbering ordering keys")?;
        for row in rows {
            let key: String = row.get("ordering_key");
            let last: i64 = row.get("last_seq");
            let count = keys
                .binary_search_by(|(k, _)| k.cmp(&key.as_str()))
                .map_or(0, |at| keys[at].1);
            next.insert(key, last - count + 1);
        }
    }
    let seqs = events
        .iter()
        .map(|event| {
            let key = event.ordering_key.as_deref()?;
            let seq = next.get_mut(key)?;
            *seq += 1;
            Some(*seq - 1)
        })
        .collect();
    let mut deferred_keys = HashSet::new();
    for chunk in keys.chunks(CHUNK) {
        let mut query = QueryBuilder::<Db>::new(
            "SELECT DISTINCT ordering_key FROM fanouts WHERE ordering_key IN (",
        );
        let mut list = query.separated(", ");
        for (key, _) in chunk {
            list.push_bind(*key);
        }
        query.push(")");
        let held: Vec<String> = query.build_query_scalar().fetch_all(&mut *tx).await?;
        deferred_keys.extend(held);
    }
    Ok(Places {
        seqs,
        deferred_keys,
    })
}

/// Locks `keys`' rows until the transaction ends (PostgreSQL; SQLite's one
/// writer already serializes transactions).
pub(in super::super) async fn lock(tx: &mut Connection, keys: &[&str]) -> anyhow::Result<()> {
    if Backend::LOCK_ROWS.is_empty() || keys.is_empty() {
        return Ok(());
    }
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(CHUNK) {
        let mut query =
            QueryBuilder::<Db>::new("SELECT 1 FROM ordering_keys WHERE ordering_key IN (");
        let mut list = query.separated(", ");
        for key in chunk {
            list.push_bind(*key);
        }
        query.push(") ORDER BY ordering_key");
        query.push(Backend::LOCK_ROWS);
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// The (webhook, key) pairs whose heads to look at.
pub(in super::super) enum Heads<'a> {
    /// These pairs.
    Of(&'a [(&'a str, &'a str)]),
    /// Every key with unfinished deliveries to this webhook.
    OfWebhook(&'a str),
}

/// Makes due the heads of `heads` that wait: each (webhook, key)'s
/// unfinished delivery with the lowest place, if it waits, due since it was
/// created. A delivery redelivered by hand is outside the order and never a
/// head. Returns how many it made due. The keys must be locked (`lock`).
pub(in super::super) async fn promote(
    tx: &mut Connection,
    heads: Heads<'_>,
) -> anyhow::Result<u64> {
    Ok(promote_leasing(tx, heads, None).await?.len() as u64)
}

/// `promote`, leasing the heads it makes due until `lease_until` (if
/// given) unless their webhook has a rate limit (the workers pace those as
/// they claim them). Returns each head made due with its lease.
async fn promote_leasing(
    tx: &mut Connection,
    heads: Heads<'_>,
    lease_until: Option<i64>,
) -> anyhow::Result<Vec<(String, Option<i64>)>> {
    const PAIRS: &str = "WITH k (webhook_id, ordering_key) AS (";
    match heads {
        Heads::Of(pairs) => {
            let mut promoted = Vec::new();
            for chunk in pairs.chunks(CHUNK) {
                let mut query = QueryBuilder::<Db>::new(PAIRS);
                query.push("VALUES ");
                let mut list = query.separated(", ");
                for (webhook_id, key) in chunk {
                    list.push("(")
                        .push_bind_unseparated(*webhook_id)
                        .push_unseparated(", ")
                        .push_bind_unseparated(*key)
                        .push_unseparated(")");
                }
                promoted.extend(heads_due(tx, query, lease_until).await?);
            }
            Ok(promoted)
        }
        Heads::OfWebhook(webhook_id) => {
            let mut query = QueryBuilder::<Db>::new(PAIRS);
            query.push(
                "SELECT DISTINCT webhook_id, ordering_key FROM deliveries WHERE webhook_id = ",
            );
            query.push_bind(webhook_id);
            query.push(format!(" AND ordering_key IS NOT NULL AND {UNFINISHED}"));
            heads_due(tx, query, lease_until).await
        }
    }
}

/// Ends `query`, which names the pairs `k`, with the update of their heads, and runs it.
async fn heads_due(
    tx: &mut Connection,
    mut query: QueryBuilder<'_, Db>,
    lease_until: Option<i64>,
) -> anyhow::Result<Vec<(String, Option<i64>)>> {
    query.push(") UPDATE deliveries SET next_attempt_at = created_at, updated_at = ");
    query.push_bind(now_ms());
    if let Some(until) = lease_until {
        query.push(
            ", lease_until = CASE WHEN (SELECT w.rate_limit FROM webhooks w
                 WHERE w.id = deliveries.webhook_id) IS NULL THEN ",
        );
        query.push_bind(until);
        query.push(" END");
    }
    query.push(format!(
        " WHERE next_attempt_at IS NULL AND status IN ('pending', 'retrying') AND id IN (
             SELECT (SELECT d.id FROM deliveries d
                     WHERE d.ordering_key = k.ordering_key AND d.webhook_id = k.webhook_id
                       AND d.ordering_key IS NOT NULL AND d.{UNFINISHED} AND NOT d.single_attempt
                     ORDER BY d.key_seq LIMIT 1)
             FROM k)
         RETURNING id, lease_until"
    ));
    let promoted = query
        .build_query_as()
        .fetch_all(&mut *tx)
        .await
        .context("making the next of ordering keys due")?;
    Ok(promoted)
}

/// After outcomes are recorded (`held`: those still held under their
/// lease): the next delivery of each key whose delivery ended goes, leased
/// to this process's workers as far as `handover` has room (returned, to be
/// handed over once committed: no claim in between), else due for a claim.
pub(in super::super) async fn after_outcomes(
    tx: &mut Connection,
    outcomes: &[Outcome],
    held: &HashSet<String>,
    handover: &mut Reservation,
) -> anyhow::Result<Vec<Job>> {
    let mut ended: Vec<(&str, &str)> = outcomes
        .iter()
        .filter(|outcome| outcome.next.retry_at().is_none())
        .filter(|outcome| held.contains(&outcome.attempt.delivery_id))
        .filter_map(|outcome| {
            let key = outcome.ordering_key.as_deref()?;
            Some((outcome.attempt.webhook_id.as_str(), key))
        })
        .collect();
    if ended.is_empty() {
        return Ok(Vec::new());
    }
    ended.sort_unstable();
    ended.dedup();
    let keys: Vec<&str> = ended.iter().map(|(_, key)| *key).collect();
    lock(tx, &keys).await?;
    let promoted = promote_leasing(tx, Heads::Of(&ended), handover.lease_until()).await?;
    let leased: Vec<&str> = promoted
        .iter()
        .filter(|(_, lease)| lease.is_some())
        .map(|(id, _)| id.as_str())
        .collect();
    let jobs = match handover.lease_until() {
        Some(until) => jobs(tx, &leased, until).await?,
        None => Vec::new(),
    };
    let (taken, no_room): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| handover.lease(&job.webhook_id, job.bytes).is_some());
    for chunk in no_room.chunks(CHUNK) {
        // Due for any worker to claim.
        let mut query =
            QueryBuilder::<Db>::new("UPDATE deliveries SET lease_until = NULL WHERE id IN (");
        let mut list = query.separated(", ");
        for job in chunk {
            list.push_bind(&job.delivery_id);
        }
        query.push(")");
        query.build().execute(&mut *tx).await?;
    }
    if taken.len() < promoted.len() {
        Backend::announce_due(tx).await?;
    }
    Ok(taken)
}

/// Which deferred events a fan-out may write now: a keyed one only if no
/// earlier event of its key still waits to be fanned out beside it (taken
/// by another instance, or past what this transaction writes).
#[derive(Default)]
pub(in super::super) struct Turns {
    /// Per key, the place of its earliest event left waiting.
    earliest_left: HashMap<String, i64>,
}

impl Turns {
    pub(in super::super) fn come(&self, event: &Deferred) -> bool {
        match (&event.ordering_key, event.key_seq) {
            (Some(key), Some(seq)) => self.earliest_left.get(key).is_none_or(|&left| seq < left),
            _ => true,
        }
    }
}

/// The turns of `events`, about to be fanned out together; locks their keys.
pub(in super::super) async fn turns(
    tx: &mut Connection,
    events: &[&Deferred],
) -> anyhow::Result<Turns> {
    let mut keys: Vec<&str> = events
        .iter()
        .filter_map(|event| event.ordering_key.as_deref())
        .collect();
    if keys.is_empty() {
        return Ok(Turns::default());
    }
    keys.sort_unstable();
    keys.dedup();
    lock(tx, &keys).await?;
    let mut query = QueryBuilder::<Db>::new(
        "SELECT ordering_key, min(key_seq) AS earliest FROM fanouts WHERE ordering_key IN (",
    );
    let mut list = query.separated(", ");
    for key in &keys {
        list.push_bind(*key);
    }
    query.push(") AND event_id NOT IN (");
    let mut list = query.separated(", ");
    for event in events {
        list.push_bind(event.event_id.as_str());
    }
    query.push(") GROUP BY ordering_key");
    let rows = query.build().fetch_all(&mut *tx).await?;
    Ok(Turns {
        earliest_left: rows
            .iter()
            .map(|row| (row.get("ordering_key"), row.get("earliest")))
            .collect(),
    })
}
