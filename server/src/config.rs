//! Command line and environment: every flag has a `HOOKHUB_` variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, Subcommand};

use crate::logs::LogFormat;

#[derive(Debug, Parser)]
#[command(name = "hookhub", version, about = "A self-hosted webhook hub")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the API, the console and the delivery workers.
    Serve(Box<Config>),
    /// Print the OpenAPI 3.1 document of the API (as `/api/openapi.json` serves it), e.g. for client generators.
    Openapi,
}

#[derive(Debug, Clone, Parser)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HOOKHUB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// `sqlite://path/to/file.db` (default; one process), or
    /// `postgres://user:password@host/database` for several instances sharing one queue.
    #[arg(
        long,
        env = "HOOKHUB_DATABASE_URL",
        default_value = "sqlite://data/hookhub.db",
        value_parser = parse_database_url
    )]
    pub database_url: String,

    /// Ensures an administrator API token with this value exists (automation, tests).
    #[arg(long, env = "HOOKHUB_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Password of the `admin` user created on a fresh database; random and printed once if unset.
    #[arg(long, env = "HOOKHUB_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Permit loopback and private-range target URLs (off: SSRF guard).
    #[arg(
        long,
        env = "HOOKHUB_ALLOW_PRIVATE_TARGETS",
        action = ArgAction::Set,
        num_args = 0..=1,
        default_value_t = false,
        default_missing_value = "true"
    )]
    pub allow_private_targets: bool,

    /// Delays between delivery attempts, e.g. `1s,2s,5s`.
    #[arg(
        long,
        env = "HOOKHUB_RETRY_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,10h",
        value_parser = parse_schedule
    )]
    pub retry_schedule: RetrySchedule,

    /// Delays between the probes of a webhook hookhub switched off, from the
    /// switch-off; the last repeats. The default probes 1, 5 and 30 minutes
    /// after it, then every hour.
    #[arg(
        long,
        env = "HOOKHUB_PROBE_SCHEDULE",
        default_value = "1m,4m,25m,1h",
        value_parser = parse_probe_schedule
    )]
    pub probe_schedule: RetrySchedule,

    /// How long one delivery attempt may take, connection included.
    #[arg(long, env = "HOOKHUB_DELIVERY_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub delivery_timeout: Duration,

    /// Deactivate a webhook that has failed without one success for this long.
    #[arg(long, env = "HOOKHUB_DISABLE_AFTER", default_value = "5d", value_parser = parse_duration)]
    pub disable_after: Duration,

    /// Deliveries and their attempts older than this are deleted (View Logs history).
    #[arg(long, env = "HOOKHUB_RETENTION", default_value = "30d", value_parser = parse_duration)]
    pub retention: Duration,

    /// Request and response bodies of successful attempts older than this are dropped; the attempts stay.
    #[arg(
        long,
        env = "HOOKHUB_PAYLOAD_RETENTION",
        default_value = "7d",
        value_parser = parse_duration
    )]
    pub payload_retention: Duration,

    /// The key that encrypts stored credentials; created (mode 0600) on first start if absent.
    #[arg(
        long,
        env = "HOOKHUB_SECRET_KEY_FILE",
        default_value = "data/secret.key"
    )]
    pub secret_key_file: PathBuf,

    /// A connection that sends no complete request head for this long (after
    /// opening, or after its last answer) is closed. Behind a load balancer,
    /// keep it longer than the balancer's own idle timeout.
    #[arg(long, env = "HOOKHUB_IDLE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// Also serve `/metrics` on this address, without a token (for a
    /// Prometheus that reaches only a monitoring network). Unset: only the
    /// main listener serves `/metrics`, to administrators.
    #[arg(long, env = "HOOKHUB_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// `text` for people, `json` for one JSON object per line (log collectors).
    #[arg(long, env = "HOOKHUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The built console (`index.html` and `pkg/`).
    #[arg(long, env = "HOOKHUB_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
}

/// The waits between attempts: attempt n+1 comes `delays[n]` after attempt n fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

/// Parses `500ms`, `5s`, `5m`, `2h` or `5d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` needs a unit: ms, s, m, h or d"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("`{unit}` is not a unit: use ms, s, m, h or d")),
    };
    number
        .checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// A database URL of a scheme hookhub serves; anything else stops the start
/// (a `mysql://` URL must not quietly become a folder named `mysql:`).
pub fn parse_database_url(text: &str) -> Result<String, String> {
    let Some((scheme, rest)) = text.split_once("://").or_else(|| text.split_once(':')) else {
        return Err(format!(
            "`{text}` is not a database URL: use sqlite://path/to/hookhub.db or postgres://user@host/database"
        ));
    };
    match scheme {
        // The writer and the readers would each see a database of their own,
        // and the queue would not survive a restart.
        "sqlite"
            if rest.trim_start_matches('/').starts_with(":memory:")
                || rest.contains("mode=memory") =>
        {
            Err(
                "hookhub keeps its queue on disk and cannot run on an in-memory SQLite database: \
             use a file, e.g. sqlite://data/hookhub.db (a temporary directory for throwaway runs)"
                    .into(),
            )
        }
        "sqlite" if !rest.trim_start_matches('/').is_empty() => Ok(text.to_string()),
        "sqlite" => Err("a sqlite:// URL needs a file path, e.g. sqlite://data/hookhub.db".into()),
        "postgres" | "postgresql" if text.contains("://") => Ok(text.to_string()),
        other => Err(format!(
            "hookhub cannot use `{other}` databases; it accepts sqlite:// URLs (e.g. \
             sqlite://data/hookhub.db) and postgres:// URLs (e.g. postgres://hookhub@db.internal/hookhub)"
        )),
    }
}

/// Parses a comma-separated list of durations; an empty list means no retries.
pub fn parse_schedule(text: &str) -> Result<RetrySchedule, String> {
    if text.trim().is_empty() {
        return Ok(RetrySchedule(Vec::new()));
    }
    text.split(',')
        .map(parse_duration)
        .collect::<Result<_, _>>()
        .map(RetrySchedule)
}

/// A retry schedule that never ends: at least one step, the last (which
/// repeats) not zero.
pub fn parse_probe_schedule(text: &str) -> Result<RetrySchedule, String> {
    let schedule = parse_schedule(text)?;
    match schedule.0.last() {
        Some(last) if !last.is_zero() => Ok(schedule),
        Some(_) => Err("the last probe delay repeats: it cannot be zero".into()),
        None => Err("probes need at least one delay, e.g. 1m,4m,25m,1h".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("5d"), Ok(Duration::from_secs(432_000)));
    }

    #[test]
    fn durations_without_a_known_unit_are_refused() {
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-5s").is_err());
    }

    #[test]
    fn the_default_schedule_has_seven_steps() {
        let schedule = parse_schedule("5s,5m,30m,2h,5h,10h,10h").unwrap();
        assert_eq!(schedule.0.len(), 7);
        assert_eq!(schedule.0[6], Duration::from_secs(36_000));
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_database_urls() {
        assert!(parse_database_url("sqlite://data/hookhub.db").is_ok());
        assert!(parse_database_url("sqlite:///tmp/x.db").is_ok());
        let memory = parse_database_url("sqlite::memory:").unwrap_err();
        assert!(memory.contains("in-memory"), "{memory}");
        assert!(parse_database_url("sqlite://x.db?mode=memory").is_err());
        assert!(parse_database_url("postgres://postgres@127.0.0.1:5432/hookhub").is_ok());
        assert!(parse_database_url("postgresql://h/db").is_ok());
        let mysql = parse_database_url("mysql://x").unwrap_err();
        assert!(
            mysql.contains("sqlite://") && mysql.contains("postgres://"),
            "{mysql}"
        );
        assert!(parse_database_url("data/hookhub.db").is_err());
        assert!(parse_database_url("sqlite://").is_err());
    }

    #[test]
    fn a_schedule_with_a_bad_step_is_refused() {
        assert!(parse_schedule("1s,,2s").is_err());
    }
}
