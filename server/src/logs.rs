//! Log lines: text for people at a terminal, or one JSON object per line for
//! a collector (`--log-format json`). Which lines: `RUST_LOG`, `info` by default.
//!
//! No line carries a secret: credentials are never logged, URLs of attempts
//! are left out (their query may hold a token), requests are named by their
//! route's template (a trigger's URL is its secret when it takes no auth).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event, its span's fields in front.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields`, `target`
    /// and the current `span` (a request's id, method and route).
    Json,
}

/// The filter of `RUST_LOG`, or `info`.
pub fn filter_from_env() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Sends the process's log lines to `writer` in `format`; an error if a
/// subscriber was installed before.
pub fn install<W>(format: LogFormat, filter: EnvFilter, writer: W) -> anyhow::Result<()>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match format {
        LogFormat::Text => lines.try_init(),
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(|error| anyhow::anyhow!("installing the log subscriber: {error}"))
}
