//! How fast View Logs answers with 1,000,000 deliveries stored: the first page
//! and filtered pages of `GET /api/deliveries`, beside `GET /api/health` (the
//! same HTTP stack without the database) measured in the same run.
//!
//! `cargo run --release -p hookhub --example log_queries [deliveries]`

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

const TOKEN: &str = "log-queries-admin-token";
const WEBHOOKS: usize = 10;
const SAMPLES: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: u64 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |n| n.parse())?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/hookhub.db", dir.path().display());
    let config = hookhub::Config::parse_from([
        "hookhub".to_string(),
        format!("--database-url={url}"),
        format!("--secret-key-file={}/secret.key", dir.path().display()),
        format!("--admin-token={TOKEN}"),
        "--admin-password=log-queries".to_string(),
    ]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(hookhub::run(config, listener, std::future::pending()));
    let client = reqwest::Client::new();
    while client
        .get(format!("{base}/api/health"))
        .send()
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut webhook_ids = Vec::new();
    for n in 0..WEBHOOKS {
        let body =
            json!({"name": format!("w{n}"), "url": "https://example.com/in", "active": false});
        let created: Value = client
            .post(format!("{base}/api/webhooks"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        webhook_ids.push(created["data"]["id"].as_str().unwrap().to_string());
    }

    let started = Instant::now();
    fill(&url, &webhook_ids, count).await?;
    let filled = started.elapsed();

    let paths = [
        ("health (baseline, no database)", "/api/health".to_string()),
        ("first page", "/api/deliveries".to_string()),
        (
            "by webhook",
            format!("/api/deliveries?webhook_id={}", webhook_ids[3]),
        ),
        (
            "by status (10 % failed)",
            "/api/deliveries?status=failed".to_string(),
        ),
        (
            "by event type",
            "/api/deliveries?event_type=type.7".to_string(),
        ),
        (
            "by webhook and status",
            format!(
                "/api/deliveries?webhook_id={}&status=failed",
                webhook_ids[3]
            ),
        ),
        (
            "by webhook and event type",
            format!(
                "/api/deliveries?webhook_id={}&event_type=type.8",
                webhook_ids[3]
            ),
        ),
        ("page 100 deep (cursor)", String::new()),
    ];
    let deep_cursor = cursor_after_pages(&client, &base, 100).await?;
    let mut rows = Vec::new();
    for (label, path) in paths {
        let path = if path.is_empty() {
            format!("/api/deliveries?cursor={deep_cursor}")
        } else {
            path
        };
        rows.push((label, p50(&client, &format!("{base}{path}")).await?));
    }
    report(count, filled, &rows);
    Ok(())
}

/// Writes `count` finished deliveries straight into the database, spread over the webhooks.
async fn fill(url: &str, webhook_ids: &[String], count: u64) -> anyhow::Result<()> {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    sqlx::query(
        "INSERT INTO events (id, type, data, created_at) VALUES ('evt_bench', 'type.0', '{}', 0)",
    )
    .execute(&pool)
    .await?;
    let now = hookhub::store::now_ms();
    let webhooks = serde_json::to_string(webhook_ids)?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, attempt_count,
             last_status_code, last_duration_ms, created_at, updated_at)
         SELECT printf('dlv_%032d', i), json_extract(?, '$[' || (i % 10) || ']'), 'evt_bench',
                'type.' || (i % 50), CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'succeeded' END,
                1, 200, 3, ? - (? - i), ?
         FROM n",
    )
    .bind(count as i64)
    .bind(webhooks)
    .bind(now)
    .bind(count as i64)
    .bind(now)
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    Ok(())
}

async fn cursor_after_pages(
    client: &reqwest::Client,
    base: &str,
    pages: usize,
) -> anyhow::Result<String> {
    let mut cursor = String::new();
    for _ in 0..pages {
        let page: Value = client
            .get(format!("{base}/api/deliveries?cursor={cursor}"))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?;
        cursor = page["next_cursor"].as_str().unwrap_or_default().to_string();
    }
    Ok(cursor)
}

/// Median time of `SAMPLES` sequential requests, after a few to warm up.
async fn p50(client: &reqwest::Client, url: &str) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(SAMPLES);
    for n in 0..SAMPLES + 10 {
        let started = Instant::now();
        let response = client
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await?
            .error_for_status()?;
        response.bytes().await?;
        if n >= 10 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    Ok(times[times.len() / 2])
}

#[allow(clippy::print_stdout)]
fn report(count: u64, filled: Duration, rows: &[(&str, Duration)]) {
    println!(
        "{count} deliveries stored in {:.1} s; p50 of {SAMPLES} requests each, 50 rows a page",
        filled.as_secs_f64()
    );
    let baseline = rows[0].1.as_secs_f64();
    for (label, time) in rows {
        println!(
            "{label:<32} {:>8.2} ms   {:>5.1} x baseline",
            time.as_secs_f64() * 1000.0,
            time.as_secs_f64() / baseline
        );
    }
}
