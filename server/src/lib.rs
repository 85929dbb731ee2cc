//! hookhub: a self-hosted webhook hub. `run` starts the API and the console
//! on a given listener, so that tests can bind port 0.

pub mod bootstrap;
pub mod config;
pub mod error;
pub mod events;
pub mod http;
pub mod security;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

pub use config::Config;

/// Serves until `shutdown` completes, then finishes in-flight requests and returns.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = store::Store::open(&config.database_url).await?;
    let cipher = security::Cipher::load_or_create(&config.secret_key_file)?;
    bootstrap::prepare(&store, &config).await?;
    let address = listener.local_addr()?;
    let state = http::AppState {
        store: store.clone(),
        cipher,
        config: Arc::new(config),
    };
    tracing::info!(%address, "hookhub is listening");
    axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    store.close().await;
    tracing::info!("hookhub stopped");
    Ok(())
}
