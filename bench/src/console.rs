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
    Ok(Row::new(
        "7 console wasm, gzip -9",
        format!(
            "{:.0} KiB ({:.0} KiB raw)",
            gzipped as f64 / 1024.0,
            raw as f64 / 1024.0
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

/// Median time from navigation to `rows` rows on screen (or the empty state), over 5 loads.
fn page_time(server: &Server, rows: usize) -> anyhow::Result<Duration> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/bench/render.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg(&server.base)
        .arg(TOKEN)
        .arg(rows.to_string())
        .output()
        .context("running node (scripts/bench installs end2end's packages)")?;
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8(output.stdout)?;
    let millis: f64 = text
        .trim()
        .parse()
        .with_context(|| format!("render.mjs printed {text:?}"))?;
    Ok(Duration::from_secs_f64(millis / 1000.0))
}
