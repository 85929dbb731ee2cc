//! A quick measurement: deliveries per second to a local receiver answering
//! 200 at once, beside a plain pooled HTTP client posting to the same receiver.
//!
//! `cargo run --release -p hookhub --example throughput [events]`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;

const TOKEN: &str = "throughput-admin-token";
const IN_FLIGHT: usize = 16;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events: usize = std::env::args().nth(1).map_or(Ok(20_000), |n| n.parse())?;
    let received = Arc::new(AtomicUsize::new(0));
    let receiver = start_receiver(received.clone()).await?;
    let body = vec![b'x'; 1024];

    let baseline = baseline(&receiver, &body, events).await?;
    received.store(0, Ordering::SeqCst);

    let dir = tempfile::tempdir()?;
    let root = dir.path().display();
    let config = hookhub::Config::parse_from([
        "hookhub".to_string(),
        format!("--database-url=sqlite://{root}/hookhub.db"),
        format!("--secret-key-file={root}/secret.key"),
        format!("--admin-token={TOKEN}"),
        "--admin-password=throughput".to_string(),
        "--allow-private-targets".to_string(),
    ]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hookhub = format!("http://{}", listener.local_addr()?);
    tokio::spawn(hookhub::run(config, listener, std::future::pending()));
    let client = reqwest::Client::new();
    while client
        .get(format!("{hookhub}/api/health"))
        .send()
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client
        .post(format!("{hookhub}/api/webhooks"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "bench", "url": receiver, "events": ["bench.*"]}))
        .send()
        .await?
        .error_for_status()?;

    let data = json!({"payload": "x".repeat(1000)});
    let started = Instant::now();
    for chunk in (0..events).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|_| json!({"type": "bench.item", "data": data}))
            .collect();
        client
            .post(format!("{hookhub}/api/events"))
            .bearer_auth(TOKEN)
            .json(&json!({"events": batch}))
            .send()
            .await?
            .error_for_status()?;
    }
    let ingested = started.elapsed();
    while received.load(Ordering::SeqCst) < events {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let hookhub_rate = events as f64 / started.elapsed().as_secs_f64();
    report(events, baseline, hookhub_rate, ingested);
    Ok(())
}

#[allow(clippy::print_stdout)]
fn report(events: usize, baseline: f64, hookhub: f64, ingested: Duration) {
    println!("events: {events}, {IN_FLIGHT} in flight, 1 KiB bodies");
    println!(
        "all accepted after {:.2} s (batches of 1,000)",
        ingested.as_secs_f64()
    );
    println!("baseline (pooled reqwest -> receiver): {baseline:>8.0} requests/s");
    println!("hookhub (POST /api/events -> receiver): {hookhub:>8.0} deliveries/s");
    println!("ratio: {:.3}", hookhub / baseline);
}

async fn start_receiver(received: Arc<AtomicUsize>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    let app = axum::Router::new().fallback(move |_body: axum::body::Bytes| {
        let received = received.clone();
        async move {
            received.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// A plain pooled client posting the same bodies, `IN_FLIGHT` at a time.
async fn baseline(receiver: &str, body: &[u8], count: usize) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (client, next, url, body) = (
            client.clone(),
            next.clone(),
            receiver.to_string(),
            body.to_vec(),
        );
        workers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < count {
                client
                    .post(&url)
                    .body(body.clone())
                    .send()
                    .await?
                    .error_for_status()?;
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}
