//! The deliveries that publishing deferred (a transaction writes at most
//! `INLINE_DELIVERIES`; see `store::outbox`), written in slices of
//! `SLICE`, one transaction each, so that other writers take turns in
//! between: the slices are smaller than what a publication may write, as
//! the workers claim and record what the slices queue meanwhile.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// Deliveries one fan-out transaction writes (one event's at least).
const SLICE: usize = 2_000;
/// How often to look for deferred deliveries when none were waiting: a
/// query a second per instance while idle; a deferred fan-out starts within it.
const LOOK_EVERY: Duration = Duration::from_secs(1);

pub async fn run(store: Store, mut stopping: watch::Receiver<bool>) {
    loop {
        let fanned = match store.fan_out(SLICE).await {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "fanning out deferred deliveries failed"
                );
                0
            }
        };
        if *stopping.borrow() {
            return;
        }
        if fanned > 0 {
            // The next slice right away, after anyone waiting for a turn.
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}
