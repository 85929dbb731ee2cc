//! The HTTP server loop: every connection is bounded in time and number, so
//! that idle or slow clients cannot hold the process's sockets.
//!
//! - A connection must send a complete request head within `idle_timeout`
//!   of opening or of its previous answer, or it is closed: this covers
//!   partial headers and idle keep-alive sockets alike.
//! - A request body must keep arriving: `idle_timeout` without a byte ends
//!   it with 408 (`http::router`).
//! - At most `max_connections` are open; when a new one would pass that, the
//!   oldest connection without a request in progress is closed to make room,
//!   so a flood of idle sockets cannot lock out a health check.
//! - Accept errors (out of file descriptors) back off instead of spinning.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

/// How long the accept loop pauses after an accept error (e.g. `EMFILE`).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// File descriptors kept for the database, the workers' outbound connections and logs.
const RESERVED_FDS: usize = 256 + 64;
/// Connections at least, however low the file limit.
const MIN_CONNECTIONS: usize = 64;
/// Connections at most, however high the file limit.
const MAX_CONNECTIONS: usize = 16_384;

/// How many connections may be open: what the open-files limit leaves once
/// the rest of the process is served.
pub fn max_connections() -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| open_files_limit(&limits))
        .unwrap_or(1024);
    limit
        .saturating_sub(RESERVED_FDS)
        .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS)
}

/// The soft `Max open files` of `/proc/self/limits`.
fn open_files_limit(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(usize::MAX),
        number => number.parse().ok(),
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// requests in progress finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    idle_timeout: Duration,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(idle_timeout);
    let open = Connections::new(max_connections);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed; pausing");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and go out at once, not after Nagle's wait.
        let _ = stream.set_nodelay(true);
        let connection = open.add();
        let busy = connection.busy.clone();
        let service =
            router
                .clone()
                .map_request(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(remote));
                    request.map(axum::body::Body::new)
                });
        let service = TowerToHyperService::new(Busy {
            inner: service,
            busy,
        });
        let serving = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            tokio::select! {
                _ = serving => {}
                () = connection.evicted.notified() => {}
            }
            drop(connection);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The open connections, oldest first, with whether each has a request in progress.
#[derive(Clone)]
struct Connections {
    inner: Arc<Mutex<Registry>>,
}

struct Registry {
    max: usize,
    next: u64,
    open: BTreeMap<u64, (Arc<AtomicUsize>, Arc<Notify>)>,
}

/// One open connection; dropping it removes it from the registry.
struct Connection {
    id: u64,
    busy: Arc<AtomicUsize>,
    evicted: Arc<Notify>,
    registry: Connections,
}

impl Connections {
    fn new(max: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Registry {
                max,
                next: 0,
                open: BTreeMap::new(),
            })),
        }
    }

    /// Registers a new connection; at the limit, closes the oldest one without
    /// a request in progress (or, if every connection is busy, the oldest).
    fn add(&self) -> Connection {
        let mut registry = self.inner.lock().expect("connections");
        if registry.open.len() >= registry.max {
            let idle = registry
                .open
                .iter()
                .find(|(_, (busy, _))| busy.load(Ordering::Relaxed) == 0)
                .or_else(|| registry.open.iter().next())
                .map(|(id, _)| *id);
            if let Some((_, evicted)) = idle.and_then(|id| registry.open.remove(&id)) {
                evicted.notify_one();
            }
        }
        let id = registry.next;
        registry.next += 1;
        let busy = Arc::new(AtomicUsize::new(0));
        let evicted = Arc::new(Notify::new());
        registry.open.insert(id, (busy.clone(), evicted.clone()));
        Connection {
            id,
            busy,
            evicted,
            registry: self.clone(),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.registry
            .inner
            .lock()
            .expect("connections")
            .open
            .remove(&self.id);
    }
}

/// Counts the requests of one connection in progress.
#[derive(Clone)]
struct Busy<S> {
    inner: S,
    busy: Arc<AtomicUsize>,
}

impl<S, R> tower::Service<R> for Busy<S>
where
    S: tower::Service<R> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.busy.fetch_add(1, Ordering::Relaxed);
        let done = Done(self.busy.clone());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            drop(done);
            answer
        })
    }
}

/// Counts a request as finished when dropped, also if it was cancelled.
struct Done(Arc<AtomicUsize>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_files_limit_is_read_from_proc() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            256                  4096                 files\n";
        assert_eq!(open_files_limit(limits), Some(256));
        assert_eq!(open_files_limit("nothing"), None);
    }

    #[test]
    fn a_new_connection_past_the_limit_closes_the_oldest_idle_one() {
        let connections = Connections::new(2);
        let first = connections.add();
        let second = connections.add();
        first.busy.store(1, Ordering::Relaxed);
        let _third = connections.add();
        // The first is busy, so the second (idle) makes room.
        let registry = connections.inner.lock().unwrap();
        assert_eq!(registry.open.len(), 2);
        assert!(registry.open.contains_key(&first.id));
        assert!(!registry.open.contains_key(&second.id));
    }
}
