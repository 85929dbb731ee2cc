//! The background pruner: deliveries and attempts older than `--retention` go,
//! successful attempts lose their payloads after `--payload-retention`, and
//! idempotency keys are forgotten after their 7 days.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{IDEMPOTENCY_WINDOW_MS, STRIKE_MEMORY, Store};
use crate::time::now_ms;

/// Rows touched per statement.
const BATCH: u32 = 500;
/// Pause between batches, so that deliveries and requests get the writer in between.
const BREATHE: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub logs: Duration,
    pub payloads: Duration,
}

impl Retention {
    /// Often enough that nothing outlives its retention by more than half of it, at most a minute apart.
    fn interval(&self) -> Duration {
        (self.logs.min(self.payloads) / 2)
            .clamp(Duration::from_millis(100), Duration::from_secs(60))
    }
}

pub async fn run_pruner(store: Store, retention: Retention, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if let Err(error) = prune(&store, retention, &shutdown).await {
            tracing::error!(error = format!("{error:#}"), "pruning old logs failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(retention.interval()) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn prune(
    store: &Store,
    retention: Retention,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let now = now_ms();
    let logs_before = now - retention.logs.as_millis() as i64;
    let payloads_before = now - retention.payloads.as_millis() as i64;
    let keys_before = now - IDEMPOTENCY_WINDOW_MS;
    let strikes_before = now - STRIKE_MEMORY.as_millis() as i64;
    // deliveries, events, trigger calls, payloads, idempotency keys, throttled keys, ordering keys
    let mut totals = [0u64; 7];
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let pruned = [
            store.prune_deliveries(logs_before, BATCH).await?,
            store.prune_events(logs_before, BATCH).await?,
            store.prune_trigger_calls(logs_before, BATCH).await?,
            store.drop_payloads(payloads_before, BATCH).await?,
            store.prune_idempotency_keys(keys_before, BATCH).await?,
            store.prune_strikes(strikes_before, BATCH).await?,
            store.prune_ordering_keys(logs_before, BATCH).await?,
        ];
        for (total, count) in totals.iter_mut().zip(pruned) {
            *total += count;
        }
        if pruned.iter().all(|count| *count < u64::from(BATCH)) {
            break;
        }
        tokio::time::sleep(BREATHE).await;
    }
    if totals.iter().any(|count| *count > 0) {
        let [
            deliveries,
            events,
            trigger_calls,
            payloads,
            idempotency_keys,
            throttled_keys,
            ordering_keys,
        ] = totals;
        tracing::info!(
            deliveries,
            events,
            trigger_calls,
            payloads,
            idempotency_keys,
            throttled_keys,
            ordering_keys,
            "pruned old logs"
        );
    }
    Ok(())
}
