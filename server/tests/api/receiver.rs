//! A real HTTP receiver on 127.0.0.1 that records what hookhub sends and
//! answers as a test scripts it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub delay: Duration,
    pub retry_after: Option<&'static str>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            delay: Duration::ZERO,
            retry_after: None,
            body: String::new(),
        }
    }

    pub fn ok() -> Self {
        Self {
            body: "thanks".into(),
            ..Self::status(200)
        }
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    answered: Mutex<usize>,
    script: Mutex<VecDeque<Reply>>,
    otherwise: Mutex<Option<Reply>>,
    /// Fails the first attempt of one delivery in this many (`fail_first`).
    fail_first: Mutex<Option<u64>>,
    /// The deliveries (`webhook-id`) seen so far, for `fail_first`.
    seen: Mutex<std::collections::HashSet<String>>,
    arrived: Notify,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    /// Answers 200 unless scripted otherwise.
    pub async fn start() -> Self {
        Self::answering(Reply::ok()).await
    }

    /// Answers `reply` to every request not scripted otherwise.
    pub async fn answering(reply: Reply) -> Self {
        let inner = Arc::new(Inner::default());
        *inner.otherwise.lock().unwrap() = Some(reply);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(record)
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, inner }
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.script.lock().unwrap().extend(replies);
    }

    /// From now on, answers 500 to the first attempt of one delivery in
    /// `one_in`, picked by a hash of its id (the same ids fail on every run).
    pub fn fail_first(&self, one_in: u64) {
        *self.inner.fail_first.lock().unwrap() = Some(one_in);
    }

    /// From now on, answer `reply` to what is not scripted.
    pub fn answer(&self, reply: Reply) {
        *self.inner.otherwise.lock().unwrap() = Some(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Requests arrived so far.
    pub fn count(&self) -> usize {
        self.inner.received.lock().unwrap().len()
    }

    /// Requests answered so far (a delayed one counts once its answer went out).
    pub fn answered(&self) -> usize {
        *self.inner.answered.lock().unwrap()
    }

    /// Waits until `count` requests arrived; panics after `within`.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let arrived = self.inner.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "expected {count} requests, {} arrived: {received:#?}",
                    received.len()
                );
            }
            let _ = tokio::time::timeout(left, arrived).await;
        }
    }
}

/// A receiver that accepts connections and never answers (nor reads): a
/// hung service. Returns its base URL; connections are held until the test ends.
pub async fn silent() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    url
}

async fn record(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fails = fails_first(&inner, &headers);
    inner.received.lock().unwrap().push(Received {
        method,
        path: uri.path().to_string(),
        headers,
        body,
        at: Instant::now(),
    });
    inner.arrived.notify_waiters();
    if fails {
        *inner.answered.lock().unwrap() += 1;
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let scripted = inner.script.lock().unwrap().pop_front();
    let reply = scripted
        .or_else(|| inner.otherwise.lock().unwrap().clone())
        .unwrap_or_else(Reply::ok);
    tokio::time::sleep(reply.delay).await;
    *inner.answered.lock().unwrap() += 1;
    let status = StatusCode::from_u16(reply.status).unwrap();
    match reply.retry_after {
        Some(after) => (status, [("retry-after", after)], reply.body).into_response(),
        None => (status, reply.body).into_response(),
    }
}

/// Whether this request is the first attempt of a delivery picked to fail (`fail_first`).
fn fails_first(inner: &Inner, headers: &HeaderMap) -> bool {
    let Some(one_in) = *inner.fail_first.lock().unwrap() else {
        return false;
    };
    let Some(id) = headers.get("webhook-id").and_then(|id| id.to_str().ok()) else {
        return false;
    };
    let first = inner.seen.lock().unwrap().insert(id.to_string());
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(id, &mut hash);
    first && std::hash::Hasher::finish(&hash).is_multiple_of(one_in)
}
