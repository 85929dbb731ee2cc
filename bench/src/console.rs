//! 7: the console's size on the wire and how long the Webhooks page takes to
//! show 500 webhooks in Chromium, beside the same page with none.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::Scale;
use crate::report::{Row, ms};
use crate::server::{Server, TOKEN};

const BUDGET: usize = 300 * 1024;

pub fn bundle(dist: &Path) -> anyhow::Result<Row> {
    let wasm = built_wasm(dist)?;
    let raw = std::fs::metadata(&wasm)?.len();
    let gzip = Command::new("gzip").arg("-9c").arg(&wasm).output()?;
    if !gzip.status.success() {
        bail!("gzip failed");
    }
    let gzipped = gzip.stdout.len();
    // What browsers that accept brotli are sent (scripts/build-console writes it).
    let brotli = std::fs::metadata(wasm.with_extension("wasm.br"))?.len();
    Ok(Row::new(
        "7 console wasm, gzip -9",
        format!(
            "{:.0} KiB ({:.0} KiB raw, {:.0} KiB as brotli)",
            gzipped as f64 / 1024.0,
            raw as f64 / 1024.0,
            brotli as f64 / 1024.0
        ),
        "300 KiB budget".to_string(),
        gzipped as f64 / BUDGET as f64,
        "<= 300 KiB",
        gzipped <= BUDGET,
    ))
}

/// The console's wasm, named after its content (`pkg/app_bg-<hash>.wasm`).
fn built_wasm(dist: &Path) -> anyhow::Result<std::path::PathBuf> {
    let pkg = dist.join("pkg");
    let entries = std::fs::read_dir(&pkg)
        .with_context(|| format!("{} (build it with scripts/build-console)", pkg.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("app_bg") && name.ends_with(".wasm") {
            return Ok(path);
        }
    }
    bail!(
        "no app_bg wasm in {} (build it with scripts/build-console)",
        pkg.display()
    )
}

pub async fn render(scale: &Scale, dist: &Path) -> anyhow::Result<Row> {
    let server = Server::start(Some(dist)).await?;
    let empty = page_time(&server, 0)?;
    for n in 0..scale.rendered {
        server
            .webhook(
                &format!("Webhook {n:03}"),
                &format!("https://example.com/hooks/{n}"),
                &["order.create", "order.update"],
            )
            .await?;
    }
    let full = page_time(&server, scale.rendered)?;
    Ok(Row::new(
        "7 Webhooks page, 500 webhooks (the first 50 drawn)",
        ms(full),
        format!("{} with none", ms(empty)),
        full.as_secs_f64() / empty.as_secs_f64(),
        "reported",
        true,
    ))
}

/// A first visit over a slow link (1.6 Mbit/s, 150 ms a request; an empty
/// cache) until the login form is usable, beside the same over loopback.
pub async fn first_visit(dist: &Path) -> anyhow::Result<Row> {
    let server = Server::start(Some(dist)).await?;
    let text = node("first-visit.mjs", &[&server.base])?;
    let times: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("first-visit.mjs printed {text:?}"))?;
    let [slow, fast] = times[..] else {
        bail!("first-visit.mjs printed {text:?}");
    };
    let (slow, fast) = (
        Duration::from_secs_f64(slow / 1000.0),
        Duration::from_secs_f64(fast / 1000.0),
    );
    Ok(Row::new(
        "7 first visit, 1.6 Mbit/s and 150 ms, to a usable login form",
        ms(slow),
        format!("{} over loopback", ms(fast)),
        slow.as_secs_f64() / fast.as_secs_f64(),
        "<= 2.5 s",
        slow <= Duration::from_millis(2500),
    ))
}

/// What a script of end2end/bench/ printed, run with node.
fn node(script: &str, args: &[&str]) -> anyhow::Result<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../end2end/bench")
        .join(script);
    let output = Command::new("node")
        .arg(&script)
        .args(args)
        .output()
        .context("running node (scripts/bench installs end2end's packages)")?;
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Median time from navigation to `rows` rows on screen (or the empty state), over 5 loads.
fn page_time(server: &Server, rows: usize) -> anyhow::Result<Duration> {
    let text = node("render.mjs", &[&server.base, TOKEN, &rows.to_string()])?;
    let millis: f64 = text
        .trim()
        .parse()
        .with_context(|| format!("render.mjs printed {text:?}"))?;
    Ok(Duration::from_secs_f64(millis / 1000.0))
}
