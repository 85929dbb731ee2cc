//! hookhub's benchmarks (BENCHMARKS.md): every figure of the speed issue
//! beside a baseline measured in the same run, printed as one table.
//!
//! `scripts/bench` builds what this needs and runs it; `--quick` scales every
//! measurement down tenfold for a smoke run.

mod console;
mod direct;
mod receiver;
mod report;
mod runs;
mod server;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Measures hookhub beside plain-HTTP baselines and prints a table")]
struct Options {
    /// Every measurement at a tenth of its size, for a smoke run.
    #[arg(long)]
    quick: bool,
    /// The built console (scripts/build-console); its measurements are skipped without it.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Skip the console's measurements (no Chromium needed).
    #[arg(long)]
    skip_console: bool,
    /// Run only these measurements (throughput, ordered, fan-out, latency, ingest, end-to-end,
    /// logs, console, big-publish, isolation, postgres).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// A PostgreSQL database on a server where this user may create databases
    /// (e.g. the one `scripts/postgres start --durable` prints): throughput,
    /// latency and ingest are measured there too, with one and three instances.
    #[arg(long)]
    database_url: Option<String>,
}

impl Options {
    fn runs(&self, name: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|only| only == name))
            && !(name == "console" && self.skip_console)
    }
}

/// How big each measurement is.
pub struct Scale {
    pub baseline: usize,
    pub events: usize,
    pub webhooks: usize,
    pub latency_seconds: u64,
    pub ingest: usize,
    pub deliveries: usize,
    pub rendered: usize,
    pub isolation: usize,
}

impl Scale {
    fn new(quick: bool) -> Self {
        let full = Self {
            baseline: 50_000,
            events: 50_000,
            webhooks: 1_000,
            latency_seconds: 30,
            ingest: 50_000,
            deliveries: 1_000_000,
            rendered: 500,
            isolation: 20_000,
        };
        if !quick {
            return full;
        }
        Self {
            baseline: full.baseline / 10,
            events: full.events / 10,
            webhooks: full.webhooks / 10,
            latency_seconds: 3,
            ingest: full.ingest / 10,
            deliveries: full.deliveries / 10,
            rendered: full.rendered / 10,
            isolation: full.isolation / 10,
        }
    }
}

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let scale = Scale::new(options.quick);
    let started = Instant::now();
    let receiver =
        receiver::Receiver::start((scale.latency_seconds as usize).max(5) * 1000, started).await?;

    let mut rows = Vec::new();
    let baseline =
        direct::baseline(&receiver.url("/count"), scale.baseline, runs::IN_FLIGHT).await?;
    step("baseline", started);
    rows.push(report::Row::info(
        "0 baseline: pooled reqwest -> receiver, 16 in flight, 1 KiB",
        format!("{baseline:.0} req/s"),
    ));
    if options.runs("throughput") {
        rows.extend(runs::throughput(&scale, &receiver, baseline).await?);
        step("throughput", started);
    }
    if options.runs("ordered") {
        rows.push(runs::ordered(&scale, &receiver).await?);
        step("ordered", started);
    }
    if options.runs("fan-out") {
        rows.push(runs::fan_out(&scale, &receiver).await?);
        step("fan-out", started);
    }
    if options.runs("latency") {
        rows.extend(runs::latency(&scale, &receiver).await?);
        step("latency", started);
    }
    if options.runs("ingest") {
        rows.extend(runs::ingest(&scale, &receiver).await?);
        step("ingest", started);
    }
    if options.runs("end-to-end") {
        rows.push(runs::end_to_end(&scale, &receiver).await?);
        step("end to end", started);
    }
    if options.runs("logs") {
        rows.extend(runs::log_queries(&scale).await?);
        step("log queries", started);
    }
    if options.runs("console") {
        rows.push(console::bundle(&options.dist)?);
        rows.push(console::render(&scale, &options.dist).await?);
        rows.push(console::first_visit(&options.dist).await?);
        step("console", started);
    }
    if options.runs("big-publish") {
        rows.push(runs::beside_a_big_publish(&scale, &receiver).await?);
        step("big publish", started);
    }
    if options.runs("isolation") {
        rows.push(runs::isolation(&scale, &receiver).await?);
        step("isolation", started);
    }
    if let Some(url) = &options.database_url
        && options.runs("postgres")
    {
        rows.extend(runs::postgres(&scale, &receiver, url).await?);
        step("postgres", started);
    }

    println!();
    println!("{}", machine());
    println!("{}", report::table(&rows));
    Ok(())
}

/// Progress on stderr, so that stdout is the table alone.
fn step(name: &str, started: Instant) {
    eprintln!(
        "{name} measured at {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cores} cores, {cpu}")
}
