//! The log of refused trigger calls, counted rather than kept one row each.
//! The first refusal of a trigger with an outcome (`unauthorized`, …) opens
//! a minute: it is stored as a row at once; the refusals alike within that
//! minute only add to the row's count, written every two seconds. A flood of
//! wrong calls thus costs a row a minute and a write every two seconds, not
//! a row per call, and the accepted calls stay in sight beside it.
//!
//! Counts are held in memory until written: a crash may lose two seconds of
//! them (never a call that was accepted, which is stored with its event).
//! Each instance counts its own refusals, so with several instances a
//! minute may have a row per instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::store::Store;
use crate::time::now_ms;

/// How long refusals alike add to the count of one row.
const WINDOW: Duration = Duration::from_secs(60);
/// How often the counts gathered are written.
const FLUSH_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct CallLog {
    state: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    open: HashMap<(String, &'static str), Window>,
    /// Counts of windows closed before they were written.
    closed: Vec<Count>,
}

struct Window {
    /// The row of its first call; `None` while that is being written.
    row: Option<i64>,
    opened: Instant,
    /// Calls alike since the first, not yet written, and when the last came.
    calls: u32,
    last_at: i64,
}

/// Calls to add to a logged row.
struct Count {
    row: i64,
    calls: u32,
    last_at: i64,
}

impl Window {
    /// What it counted since it was last written, if anything; 0 after.
    fn take(&mut self) -> Option<Count> {
        let row = self.row.filter(|_| self.calls > 0)?;
        let calls = std::mem::take(&mut self.calls);
        Some(Count {
            row,
            calls,
            last_at: self.last_at,
        })
    }
}

impl CallLog {
    /// Logs a refused call of `trigger_id`; `reason` says why when the
    /// outcome does not (the first call of a window's).
    pub async fn refused(
        &self,
        store: &Store,
        trigger_id: &str,
        caller: &str,
        outcome: &'static str,
        status: u16,
        reason: Option<&str>,
    ) -> anyhow::Result<()> {
        let key = (trigger_id.to_owned(), outcome);
        {
            let mut state = self.state.lock().expect("call log");
            if let Some(window) = state.open.get_mut(&key)
                && window.opened.elapsed() < WINDOW
            {
                window.calls += 1;
                window.last_at = now_ms();
                return Ok(());
            }
            let window = Window {
                row: None,
                opened: Instant::now(),
                calls: 0,
                last_at: 0,
            };
            if let Some(count) = state
                .open
                .insert(key.clone(), window)
                .as_mut()
                .and_then(Window::take)
            {
                state.closed.push(count);
            }
        }
        let row = store
            .log_trigger_call(trigger_id, caller, outcome, status, reason)
            .await;
        let mut state = self.state.lock().expect("call log");
        match row {
            Ok(row) => {
                if let Some(window) = state.open.get_mut(&key) {
                    window.row = Some(row);
                }
                Ok(())
            }
            Err(error) => {
                // The next refusal opens the window again and tries anew.
                state.open.remove(&key);
                Err(error)
            }
        }
    }

    /// Takes the counts gathered since the last time, and forgets the
    /// windows that are over.
    fn take(&self) -> Vec<Count> {
        let mut state = self.state.lock().expect("call log");
        let mut counts = std::mem::take(&mut state.closed);
        state.open.retain(|_, window| {
            counts.extend(window.take());
            window.row.is_none() || window.opened.elapsed() < WINDOW
        });
        counts
    }

    /// Writes the counts every two seconds, and once more when `stopping`.
    pub async fn run(&self, store: Store, mut stopping: watch::Receiver<bool>) {
        loop {
            let stop = tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => false,
                _ = stopping.wait_for(|stop| *stop) => true,
            };
            for count in self.take() {
                if let Err(error) = store
                    .count_trigger_calls(count.row, count.calls, count.last_at)
                    .await
                {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        calls = count.calls,
                        "refused trigger calls went uncounted"
                    );
                }
            }
            if stop {
                return;
            }
        }
    }
}
