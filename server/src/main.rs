use anyhow::Context;
use clap::Parser;
use hookhub::config::{Cli, Command};
use hookhub::logs;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = match Cli::parse().command {
        Command::Serve(config) => *config,
        Command::Openapi => {
            let document = hookhub::http::openapi_document();
            std::io::Write::write_all(&mut std::io::stdout(), format!("{document}\n").as_bytes())?;
            return Ok(());
        }
    };
    logs::install(config.log_format, logs::filter_from_env(), std::io::stdout)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    hookhub::run(config, listener, shutdown_signal()).await
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
