//! The receiving end on 127.0.0.1: answers 200 at once, counts what arrives
//! and, for the latency run, notes when each numbered event arrived.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::any;
use serde_json::Value;

/// Every request counted at `/count`; numbered events at `/seq`; `/slow` answers after 10 s.
pub struct Receiver {
    pub url: String,
    pub counted: AtomicUsize,
    pub slow: AtomicUsize,
    /// Arrival of event number `n` at `/seq`, in nanoseconds after `epoch` (0: not yet).
    pub arrivals: Vec<AtomicU64>,
    pub epoch: Instant,
}

pub const SLOW: Duration = Duration::from_secs(10);

impl Receiver {
    pub async fn start(numbered: usize, epoch: Instant) -> anyhow::Result<Arc<Self>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let receiver = Arc::new(Self {
            url: format!("http://{}", listener.local_addr()?),
            counted: AtomicUsize::new(0),
            slow: AtomicUsize::new(0),
            arrivals: (0..numbered).map(|_| AtomicU64::new(0)).collect(),
            epoch,
        });
        let app = Router::new()
            .route("/count", any(count))
            .route("/seq", any(numbered_event))
            .route("/slow", any(slow))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(receiver)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Waits until `/count` has seen `total` requests.
    pub async fn wait_for(&self, total: usize) {
        while self.counted.load(Ordering::Relaxed) < total {
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
    }
}

async fn count(State(receiver): State<Arc<Receiver>>, _body: Bytes) -> &'static str {
    receiver.counted.fetch_add(1, Ordering::Relaxed);
    "ok"
}

async fn slow(State(receiver): State<Arc<Receiver>>, _body: Bytes) -> &'static str {
    receiver.slow.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(SLOW).await;
    "ok"
}

/// Bodies sent straight by the baseline carry `seq` at the top; hookhub's carry it in `data`.
async fn numbered_event(State(receiver): State<Arc<Receiver>>, body: Bytes) -> &'static str {
    let arrived = receiver.epoch.elapsed().as_nanos() as u64;
    let seq = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| {
            body.get("data")
                .unwrap_or(&body)
                .get("seq")
                .and_then(Value::as_u64)
        });
    if let Some(slot) = seq.and_then(|seq| receiver.arrivals.get(seq as usize)) {
        // The first arrival counts; a redelivery does not move it.
        let _ = slot.compare_exchange(0, arrived, Ordering::Relaxed, Ordering::Relaxed);
    }
    "ok"
}
