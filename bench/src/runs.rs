//! hookhub's measurements, each on a fresh server and beside its baseline.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::Scale;
use crate::direct::{self, data, percentiles, words};
use crate::receiver::Receiver;
use crate::report::{Row, ms};
use crate::server::{Server, TOKEN};

/// Requests in flight for the baseline: hookhub's limit to one webhook.
pub const IN_FLIGHT: usize = 16;
const BATCH: usize = 1000;
/// Isolation is measured this many times, each on its own server; the median round counts.
const ISOLATION_ROUNDS: usize = 3;

/// 1 and 6: events to one webhook as fast as they go, and the server's peak memory meanwhile.
pub async fn throughput(
    scale: &Scale,
    receiver: &Receiver,
    baseline: f64,
) -> anyhow::Result<Vec<Row>> {
    let server = Server::start(None).await?;
    let idle = server.memory()?.now;
    server
        .webhook("throughput", &receiver.url("/count"), &["bench.*"])
        .await?;
    let rate = deliver(
        std::slice::from_ref(&server),
        receiver,
        "bench.item",
        scale.events,
        UNKEYED,
    )
    .await?;
    let peak = server.memory()?.peak;
    let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
    Ok(vec![
        Row::new(
            "1 throughput, 1 webhook",
            format!("{rate:.0} deliveries/s"),
            format!("{baseline:.0} req/s"),
            rate / baseline,
            "ratio >= 0.5",
            rate / baseline >= 0.5,
        ),
        Row::new(
            "6 peak memory during 1",
            mib(peak),
            format!("{} idle", mib(idle)),
            peak as f64 / idle as f64,
            "<= 150 MiB",
            peak <= 150 * 1024 * 1024,
        ),
    ])
}

/// Events without an ordering key (`deliver`).
const UNKEYED: usize = 0;
/// Ordering keys of the keyed throughput runs: events go to them in turn.
const KEYS: usize = 1000;

/// Publishes `count` events in batches, to each of `servers` in turn, and
/// waits until `/count` has had as many more requests; returns deliveries
/// per second over the whole. With `keys`, the events carry that many
/// ordering keys in turn.
async fn deliver(
    servers: &[Server],
    receiver: &Receiver,
    event_type: &str,
    count: usize,
    keys: usize,
) -> anyhow::Result<f64> {
    let before = receiver.counted.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut seq = 0;
    for server in servers.iter().cycle() {
        if seq >= count {
            break;
        }
        let batch: Vec<Value> = (seq..count.min(seq + BATCH))
            .map(|n| match keys {
                UNKEYED => json!({"type": event_type, "data": data(n)}),
                _ => json!({"type": event_type, "data": data(n), "ordering_key": format!("key/{}", n % keys)}),
            })
            .collect();
        seq += batch.len();
        server
            .post("/api/events", &json!({"events": batch}))
            .await?;
    }
    receiver.wait_for(before + count).await;
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// 11: events spread over 1,000 ordering keys to one webhook, beside the
/// same unkeyed (each on a fresh server).
pub async fn ordered(scale: &Scale, receiver: &Receiver) -> anyhow::Result<Row> {
    let servers = [Server::start(None).await?];
    servers[0]
        .webhook("unkeyed", &receiver.url("/count"), &["bench.*"])
        .await?;
    let unkeyed = deliver(&servers, receiver, "bench.item", scale.events, UNKEYED).await?;
    drop(servers);
    let servers = [Server::start(None).await?];
    keyed_beside(&servers, scale, receiver, unkeyed, "11 ").await
}

/// Keyed throughput on `servers` (fresh, no webhook yet), beside `unkeyed`
/// measured the same way; the row's name starts with `prefix`.
async fn keyed_beside(
    servers: &[Server],
    scale: &Scale,
    receiver: &Receiver,
    unkeyed: f64,
    prefix: &str,
) -> anyhow::Result<Row> {
    servers[0]
        .webhook("keyed", &receiver.url("/count"), &["bench.*"])
        .await?;
    let keyed = deliver(servers, receiver, "bench.item", scale.events, KEYS).await?;
    Ok(Row::new(
        &format!("{prefix}keyed throughput, 1 webhook, 1,000 ordering keys"),
        format!("{keyed:.0} deliveries/s"),
        format!("{unkeyed:.0} unkeyed"),
        keyed / unkeyed,
        "ratio >= 0.8",
        keyed / unkeyed >= 0.8,
    ))
}

/// 2: one event to 1,000 webhooks, until all have it; beside the same 1,000 requests posted straight.
pub async fn fan_out(scale: &Scale, receiver: &Receiver) -> anyhow::Result<Row> {
    let server = Server::start(None).await?;
    let target = receiver.url("/count");
    for n in 0..scale.webhooks {
        server
            .webhook(&format!("fan-out {n}"), &target, &["fanout.*"])
            .await?;
    }
    let mut times = Vec::new();
    for round in 0..5 {
        let before = receiver.counted.load(Ordering::Relaxed);
        let started = Instant::now();
        server
            .post(
                "/api/events",
                &json!({"type": "fanout.ping", "data": data(round)}),
            )
            .await?;
        receiver.wait_for(before + scale.webhooks).await;
        times.push(started.elapsed());
    }
    let (median, _) = percentiles(times);
    let started = Instant::now();
    direct::rate(&target, scale.webhooks, IN_FLIGHT).await?;
    let baseline = started.elapsed();
    Ok(Row::new(
        "2 fan-out, 1 event to 1,000",
        format!("{} (median of 5)", ms(median)),
        format!("{} for 1,000 POSTs", ms(baseline)),
        median.as_secs_f64() / baseline.as_secs_f64(),
        "<= 500 ms",
        median <= Duration::from_millis(500),
    ))
}

/// 3: a steady 1,000 events/s; from each POST's start to the event's arrival.
pub async fn latency(scale: &Scale, receiver: &Arc<Receiver>) -> anyhow::Result<Vec<Row>> {
    let baseline = latency_baseline(receiver).await?;
    let server = Server::start(None).await?;
    let measured = latency_through(std::slice::from_ref(&server), scale, receiver).await?;
    Ok(vec![
        Row::new(
            "3 latency p50, 1,000 events/s",
            ms(measured.p50),
            ms(baseline.0),
            measured.p50.as_secs_f64() / baseline.0.as_secs_f64(),
            "<= 5 ms",
            measured.p50 <= Duration::from_millis(5),
        ),
        Row::new(
            "3 latency p99",
            ms(measured.p99),
            ms(baseline.1),
            measured.p99.as_secs_f64() / baseline.1.as_secs_f64(),
            "<= 25 ms",
            measured.p99 <= Duration::from_millis(25),
        ),
        Row::info(
            "  (POST /api/events answered, p50 / p99)",
            format!(
                "{} / {}",
                ms(measured.acknowledged.0),
                ms(measured.acknowledged.1)
            ),
        ),
    ])
}

/// p50 and p99 of the same bodies at the same rate, straight to the receiver.
async fn latency_baseline(receiver: &Arc<Receiver>) -> anyhow::Result<(Duration, Duration)> {
    reset_arrivals(receiver);
    let target = receiver.url("/seq");
    let client = reqwest::Client::new();
    let direct = direct::steady(1000, 5, receiver.epoch, |seq| {
        let request = client.post(&target).json(&data(seq)).send();
        async move {
            request.await?.error_for_status()?;
            Ok(())
        }
    })
    .await?;
    arrival_latency(receiver, &direct.sent)
}

fn reset_arrivals(receiver: &Receiver) {
    for slot in &receiver.arrivals {
        slot.store(0, Ordering::Relaxed);
    }
}

struct Latency {
    p50: Duration,
    p99: Duration,
    /// p50 and p99 of the `POST /api/events` answers.
    acknowledged: (Duration, Duration),
}

/// Events at a steady 1,000/s, posted to each of `servers` in turn, to a
/// webhook on the receiver; from each POST's start to the event's arrival.
async fn latency_through(
    servers: &[Server],
    scale: &Scale,
    receiver: &Arc<Receiver>,
) -> anyhow::Result<Latency> {
    reset_arrivals(receiver);
    let target = receiver.url("/seq");
    servers[0]
        .webhook("latency", &target, &["latency.*"])
        .await?;
    let client = reqwest::Client::new();
    let events: Vec<String> = servers.iter().map(|s| s.url("/api/events")).collect();
    let sent = direct::steady(1000, scale.latency_seconds, receiver.epoch, |seq| {
        let request = client
            .post(&events[seq % events.len()])
            .bearer_auth(TOKEN)
            .json(&json!({"type": "latency.tick", "data": data(seq)}))
            .send();
        async move {
            request.await?.error_for_status()?;
            Ok(())
        }
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.arrivals[..sent.sent.len()]
        .iter()
        .any(|t| t.load(Ordering::Relaxed) == 0)
    {
        if Instant::now() > deadline {
            bail!("events were still missing 60 s after the last was sent");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (p50, p99) = arrival_latency(receiver, &sent.sent)?;
    let acknowledged = sent
        .sent
        .iter()
        .zip(&sent.acknowledged)
        .map(|(sent, acked)| Duration::from_nanos(acked - sent))
        .collect();
    Ok(Latency {
        p50,
        p99,
        acknowledged: percentiles(acknowledged),
    })
}

/// p50 and p99 of arrival minus send, over the numbered events sent.
fn arrival_latency(receiver: &Receiver, sent: &[u64]) -> anyhow::Result<(Duration, Duration)> {
    let mut samples = Vec::with_capacity(sent.len());
    for (seq, sent) in sent.iter().enumerate() {
        let arrived = receiver.arrivals[seq].load(Ordering::Relaxed);
        if arrived == 0 {
            bail!("event {seq} never arrived");
        }
        samples.push(Duration::from_nanos(arrived.saturating_sub(*sent)));
    }
    Ok(percentiles(samples))
}

/// Concurrent clients for ingest.
const CLIENTS: usize = 64;
/// Distinct bodies the ingest clients post in turn.
const BODIES: usize = 1000;

/// 4: single events from 64 concurrent clients, each answered once durable.
pub async fn ingest(scale: &Scale, receiver: &Receiver) -> anyhow::Result<Vec<Row>> {
    let baseline = direct::baseline(&receiver.url("/count"), scale.ingest, CLIENTS).await?;
    let server = Server::start(None).await?;
    let rate = ingest_rate(std::slice::from_ref(&server), scale.ingest, data).await?;
    drop(server);
    let server = Server::start(None).await?;
    let of_words = ingest_rate(std::slice::from_ref(&server), scale.ingest, words).await?;
    Ok(vec![
        Row::new(
            "4 ingest, 64 clients",
            format!("{rate:.0} events/s"),
            format!("{baseline:.0} req/s"),
            rate / baseline,
            ">= 10,000/s",
            rate >= 10_000.0,
        ),
        of_words_row("4 ingest, 64 clients, events of ~100 words", of_words, rate),
    ])
}

/// Ingest of events written in words beside the same of one long word:
/// what indexing every word of an event costs.
fn of_words_row(name: &str, of_words: f64, rate: f64) -> Row {
    Row::new(
        name,
        format!("{of_words:.0} events/s"),
        format!("{rate:.0}/s of one word"),
        of_words / rate,
        "reported",
        true,
    )
}

/// 12: single events from 64 clients, one per request, to one webhook until
/// the receiver has them all; beside the same clients posting straight to it.
pub async fn end_to_end(scale: &Scale, receiver: &Receiver) -> anyhow::Result<Row> {
    let baseline = direct::baseline(&receiver.url("/count"), scale.ingest, CLIENTS).await?;
    let server = Server::start(None).await?;
    let rate = end_to_end_rate(std::slice::from_ref(&server), receiver, scale.ingest).await?;
    Ok(Row::new(
        "12 single events end to end, 64 clients, 1 webhook",
        format!("{rate:.0} deliveries/s"),
        format!("{baseline:.0} req/s"),
        rate / baseline,
        "ratio >= 0.25",
        rate / baseline >= 0.25,
    ))
}

/// Deliveries per second of `total` single events posted by `CLIENTS`
/// clients (spread over `servers`, fresh) to one webhook, until all arrived.
async fn end_to_end_rate(
    servers: &[Server],
    receiver: &Receiver,
    total: usize,
) -> anyhow::Result<f64> {
    servers[0]
        .webhook("end to end", &receiver.url("/count"), &["ingest.*"])
        .await?;
    let before = receiver.counted.load(Ordering::Relaxed);
    let started = Instant::now();
    ingest_rate(servers, total, data).await?;
    let accepted = started.elapsed();
    let arrived_then = receiver.counted.load(Ordering::Relaxed) - before;
    receiver.wait_for(before + total).await;
    // Tells whether accepting or delivering held the figure back.
    eprintln!(
        "end to end: {total} accepted in {accepted:.1?} ({arrived_then} had arrived), all arrived in {:.1?}",
        started.elapsed()
    );
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Events per second accepted from `CLIENTS` clients, spread over `servers`.
async fn ingest_rate(
    servers: &[Server],
    total: usize,
    data: fn(usize) -> Value,
) -> anyhow::Result<f64> {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..BODIES)
            .map(|n| serde_json::to_vec(&json!({"type": "ingest.item", "data": data(n)})))
            .collect::<Result<_, _>>()?,
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let server = &servers[client % servers.len()];
        let (client, url) = (server.client.clone(), server.url("/api/events"));
        let (bodies, next) = (bodies.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let response = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(bodies[n % BODIES].clone())
                    .send()
                    .await?;
                if response.status() != 202 {
                    bail!("POST /api/events answered {}", response.status());
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// The same as 1, 3 and 4 on PostgreSQL (the server of `postgres_url`), with
/// one instance and with three sharing the database, requests spread over
/// them in turn; beside the baselines measured again now.
pub async fn postgres(
    scale: &Scale,
    receiver: &Arc<Receiver>,
    postgres_url: &str,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let baseline = direct::baseline(&receiver.url("/count"), scale.baseline, IN_FLIGHT).await?;
    let latency_baseline = latency_baseline(receiver).await?;
    let ingest_baseline = direct::baseline(&receiver.url("/count"), scale.ingest, CLIENTS).await?;
    rows.push(Row::info(
        "9 PostgreSQL: baselines again (throughput / latency p50, p99 / ingest)",
        format!(
            "{baseline:.0} req/s / {}, {} / {ingest_baseline:.0} req/s",
            ms(latency_baseline.0),
            ms(latency_baseline.1)
        ),
    ));
    for instances in [1, 3] {
        let name = |what: &str| format!("9 PostgreSQL x{instances}, {what}");
        let servers = Server::start_on_postgres(postgres_url, instances).await?;
        servers[0]
            .webhook("throughput", &receiver.url("/count"), &["bench.*"])
            .await?;
        let rate = deliver(&servers, receiver, "bench.item", scale.events, UNKEYED).await?;
        let (target, holds) = match instances {
            1 => ("ratio >= 0.1", rate / baseline >= 0.1),
            _ => ("reported", true),
        };
        rows.push(Row::new(
            &name("throughput"),
            format!("{rate:.0} deliveries/s"),
            format!("{baseline:.0} req/s"),
            rate / baseline,
            target,
            holds,
        ));
        drop(servers);
        let servers = Server::start_on_postgres(postgres_url, instances).await?;
        rows.push(keyed_beside(&servers, scale, receiver, rate, &name("")).await?);
        drop(servers);

        let servers = Server::start_on_postgres(postgres_url, instances).await?;
        let latency = latency_through(&servers, scale, receiver).await?;
        for (what, measured, base) in [
            ("latency p50", latency.p50, latency_baseline.0),
            ("latency p99", latency.p99, latency_baseline.1),
        ] {
            rows.push(Row::new(
                &name(what),
                ms(measured),
                ms(base),
                measured.as_secs_f64() / base.as_secs_f64(),
                "reported",
                true,
            ));
        }
        rows.push(Row::info(
            &name("POST /api/events answered, p50 / p99"),
            format!(
                "{} / {}",
                ms(latency.acknowledged.0),
                ms(latency.acknowledged.1)
            ),
        ));
        drop(servers);

        let servers = Server::start_on_postgres(postgres_url, instances).await?;
        let rate = ingest_rate(&servers, scale.ingest, data).await?;
        rows.push(Row::new(
            &name("ingest, 64 clients"),
            format!("{rate:.0} events/s"),
            format!("{ingest_baseline:.0} req/s"),
            rate / ingest_baseline,
            "reported",
            true,
        ));
        drop(servers);
        let servers = Server::start_on_postgres(postgres_url, instances).await?;
        let of_words = ingest_rate(&servers, scale.ingest, words).await?;
        rows.push(of_words_row(
            &name("ingest, events of ~100 words"),
            of_words,
            rate,
        ));
        drop(servers);

        let servers = Server::start_on_postgres(postgres_url, instances).await?;
        let rate = end_to_end_rate(&servers, receiver, scale.ingest).await?;
        let (target, holds) = match instances {
            1 => ("ratio >= 0.15", rate / ingest_baseline >= 0.15),
            _ => ("reported", true),
        };
        rows.push(Row::new(
            &name("single events end to end, 64 clients, 1 webhook"),
            format!("{rate:.0} deliveries/s"),
            format!("{ingest_baseline:.0} req/s"),
            rate / ingest_baseline,
            target,
            holds,
        ));
    }
    Ok(rows)
}

/// 5: View Logs' first page and a filtered page with 1,000,000 deliveries stored,
/// beside `GET /api/health`: the same HTTP stack without the database.
pub async fn log_queries(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let server = Server::start(None).await?;
    let mut webhooks = Vec::new();
    for n in 0..10 {
        // Inactive: nothing is sent to it.
        let created = server
            .post(
                "/api/webhooks",
                &json!({"name": format!("logs {n}"), "url": "https://example.com/in", "active": false}),
            )
            .await?;
        webhooks.push(created["data"]["id"].as_str().context("id")?.to_string());
    }
    fill(server.database_url(), &webhooks, scale.deliveries).await?;
    let health = p50(&server, "/api/health").await?;
    let first = p50(&server, "/api/deliveries").await?;
    let filtered = p50(
        &server,
        &format!("/api/deliveries?webhook_id={}&status=failed", webhooks[3]),
    )
    .await?;
    let by_type = p50(&server, "/api/deliveries?event_type=type.7").await?;
    let searched = p50(&server, "/api/deliveries?search=zanzibar").await?;
    let ratio = |time: Duration| time.as_secs_f64() / health.as_secs_f64();
    let row = |name, time: Duration| {
        Row::new(
            name,
            ms(time),
            format!("{} health", ms(health)),
            ratio(time),
            "p50 <= 10 ms",
            time <= Duration::from_millis(10),
        )
    };
    Ok(vec![
        row("5 logs, first page (1M stored)", first),
        row("5 logs, webhook + status", filtered),
        row("5 logs, event type", by_type),
        Row::new(
            "5 logs, search for a rare word",
            ms(searched),
            format!("{} health", ms(health)),
            ratio(searched),
            "p50 <= 50 ms",
            searched <= Duration::from_millis(50),
        ),
    ])
}

/// Writes `count` finished deliveries straight into the database, spread over
/// the webhooks, ten to an event; each event's data has a few words, one of
/// them (`zanzibar`) in a single event.
async fn fill(url: &str, webhooks: &[String], count: usize) -> anyhow::Result<()> {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO events (id, type, data, created_at)
         SELECT printf('evt_%032d', i), 'type.' || (i % 50),
                json_object('n', i, 'city', 'city' || (i % 1000),
                    'note', CASE WHEN i = 4711 THEN 'shipped to zanzibar' ELSE 'shipped' END),
                0
         FROM n",
    )
    .bind((count / 10) as i64)
    .execute(&pool)
    .await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO deliveries (id, webhook_id, event_id, event_type, status, attempt_count,
             last_status_code, last_duration_ms, created_at, updated_at)
         SELECT printf('dlv_%032d', i), json_extract(?, '$[' || (i % 10) || ']'),
                printf('evt_%032d', i / 10),
                'type.' || (i % 50), CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'succeeded' END,
                1, 200, 3, ? - (? - i), ?
         FROM n",
    )
    .bind(count as i64)
    .bind(serde_json::to_string(webhooks)?)
    .bind(now)
    .bind(count as i64)
    .bind(now)
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    Ok(())
}

/// Median of 200 sequential requests, after 10 to warm up.
async fn p50(server: &Server, path: &str) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    for n in 0..210 {
        let started = Instant::now();
        server
            .client
            .get(server.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        if n >= 10 {
            times.push(started.elapsed());
        }
    }
    Ok(percentiles(times).0)
}

/// 8: deliveries to a healthy webhook, alone and then beside one whose target takes
/// 10 s; the median of `ISOLATION_ROUNDS` rounds, each on a fresh server after a warm-up.
pub async fn isolation(scale: &Scale, receiver: &Receiver) -> anyhow::Result<Row> {
    let mut rounds = Vec::new();
    for _ in 0..ISOLATION_ROUNDS {
        let server = Server::start(None).await?;
        server
            .webhook("healthy", &receiver.url("/count"), &["iso.*"])
            .await?;
        // Not counted: a fresh server's first deliveries are slower (pools, file growth).
        let server = std::slice::from_ref(&server);
        deliver(server, receiver, "iso.item", scale.isolation / 4, UNKEYED).await?;
        let alone = deliver(server, receiver, "iso.item", scale.isolation, UNKEYED).await?;
        server[0]
            .webhook("slow", &receiver.url("/slow"), &["iso.*"])
            .await?;
        let beside = deliver(server, receiver, "iso.item", scale.isolation, UNKEYED).await?;
        rounds.push((alone, beside));
    }
    rounds.sort_by(|(alone_a, beside_a), (alone_b, beside_b)| {
        (beside_a / alone_a).total_cmp(&(beside_b / alone_b))
    });
    let (alone, beside) = rounds[rounds.len() / 2];
    let slow_started = receiver.slow.load(Ordering::Relaxed) / ISOLATION_ROUNDS;
    Ok(Row::new(
        "8 healthy webhook beside a 10 s one",
        format!("{beside:.0} deliveries/s ({slow_started} slow started)"),
        format!("{alone:.0}/s alone"),
        beside / alone,
        "ratio >= 0.9",
        beside / alone >= 0.9,
    ))
}

/// 10: one small publish at a time, alone, then while a batch of 1,000 events
/// to 1,000 webhooks (a million deliveries) is accepted and fanned out; the
/// slowest of each. Before the bound on a transaction's deliveries, the
/// batch held the database for 23 s and every other publish waited for it.
pub async fn beside_a_big_publish(scale: &Scale, receiver: &Receiver) -> anyhow::Result<Row> {
    let server = Arc::new(Server::start(None).await?);
    let target = receiver.url("/count");
    for n in 0..scale.webhooks {
        server
            .webhook(&format!("big {n}"), &target, &["big.*"])
            .await?;
    }
    let small = json!({"type": "small.ping", "data": data(0)});
    let publish = async || -> anyhow::Result<Duration> {
        let started = Instant::now();
        server.post("/api/events", &small).await?;
        Ok(started.elapsed())
    };
    let mut alone = Vec::new();
    for _ in 0..50 {
        alone.push(publish().await?);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let batch: Vec<Value> = (0..BATCH)
        .map(|n| json!({"type": "big.item", "data": data(n)}))
        .collect();
    let big = tokio::spawn({
        let server = server.clone();
        async move {
            let started = Instant::now();
            server
                .post("/api/events", &json!({"events": batch}))
                .await?;
            anyhow::Ok(started.elapsed())
        }
    });
    // While the batch is in flight, and for 5 s after its answer (its fan-out).
    let mut beside = Vec::new();
    let mut answered: Option<Instant> = None;
    while answered.is_none_or(|at| at.elapsed() < Duration::from_secs(5)) {
        if answered.is_none() && big.is_finished() {
            answered = Some(Instant::now());
        }
        beside.push(publish().await?);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let batch_took = big.await??;
    let slowest = |times: &[Duration]| times.iter().copied().max().unwrap_or_default();
    let (alone, beside_slowest) = (slowest(&alone), slowest(&beside));
    Ok(Row::new(
        "10 a publish beside 1,000 events to 1,000 webhooks",
        format!(
            "slowest {} of {} (the batch answered in {})",
            ms(beside_slowest),
            beside.len(),
            ms(batch_took)
        ),
        format!("slowest {} of 50 alone", ms(alone)),
        beside_slowest.as_secs_f64() / alone.as_secs_f64(),
        "slowest <= 1 s",
        beside_slowest <= Duration::from_secs(1),
    ))
}
