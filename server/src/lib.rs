//! hookhub: a self-hosted webhook hub. `run` starts the API and the console
//! on a given listener, so that tests can bind port 0.

pub mod bootstrap;
pub mod config;
pub mod delivery;
pub mod error;
pub mod events;
pub mod fanout;
pub mod filter;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod model;
pub mod objects;
pub mod retention;
pub mod security;
pub mod store;
pub mod time;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

pub use config::Config;

/// The longest SIGTERM waits for attempts in flight before handing them back.
const MAX_DRAIN: Duration = Duration::from_secs(30);
/// Connections the metrics listener keeps open at most: scrapers are few.
const METRICS_CONNECTIONS: usize = 64;

/// Serves and delivers until `shutdown` completes; then stops taking work,
/// lets attempts in flight finish (or hands them back), and returns.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = store::open(&config.database_url).await?;
    let cipher = security::Cipher::load_or_create(&config.secret_key_file)?;
    bootstrap::prepare(&store, &config, &cipher).await?;
    let settings = delivery::Settings::from_config(&config);
    let drain = settings.timeout.min(MAX_DRAIN);
    let metrics = Arc::new(metrics::Metrics::default());
    let deliverer =
        delivery::Deliverer::new(store.clone(), cipher.clone(), settings, metrics.clone());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(delivery::run_workers(
        deliverer.clone(),
        stopping.clone(),
        drain,
    ));
    let retention = retention::Retention {
        logs: config.retention,
        payloads: config.payload_retention,
    };
    let pruner = tokio::spawn(retention::run_pruner(
        store.clone(),
        retention,
        stopping.clone(),
    ));

    let fan_out = tokio::spawn(fanout::run(store.clone(), stopping.clone()));
    let call_log = Arc::new(http::CallLog::default());
    let call_counter = tokio::spawn({
        let (call_log, store, stopping) = (call_log.clone(), store.clone(), stopping.clone());
        async move { call_log.run(store, stopping).await }
    });

    let metrics_server = match config.metrics_listen {
        Some(address) => {
            let listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("listening for metrics on {address}"))?;
            tracing::info!(%address, "serving /metrics without a token");
            let router = http::open_metrics_router(store.clone(), metrics.clone());
            let mut stopping = stopping.clone();
            let stopped = async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            };
            Some(tokio::spawn(http::serve(
                listener,
                router,
                config.idle_timeout,
                METRICS_CONNECTIONS,
                stopped,
            )))
        }
        None => None,
    };

    let address = listener.local_addr()?;
    let state = http::AppState {
        store: store.clone(),
        cipher,
        config: Arc::new(config),
        deliverer,
        metrics,
        password_checks: Arc::default(),
        call_log,
        database: Arc::default(),
    };
    tracing::info!(%address, "hookhub is listening");
    let stop_workers = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let idle_timeout = state.config.idle_timeout;
    http::serve(
        listener,
        http::router(state),
        idle_timeout,
        http::max_connections(),
        stop_workers,
    )
    .await;
    if let Some(server) = metrics_server {
        server.await.context("the metrics listener")?;
    }
    workers.await.context("the delivery workers")?;
    pruner.await.context("the pruner")?;
    call_counter.await.context("the trigger call counter")?;
    fan_out.await.context("the fan-out")?;
    store.close().await;
    tracing::info!("hookhub stopped");
    Ok(())
}
