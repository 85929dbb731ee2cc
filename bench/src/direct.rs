//! The baselines: a plain pooled HTTP client posting the same bodies straight
//! to the receiver, with the concurrency hookhub gets in the same measurement.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// An event's data: about 1 KiB, numbered so that the receiver can tell events apart.
pub fn data(seq: usize) -> Value {
    json!({"seq": seq, "pad": "x".repeat(1000)})
}

/// About 1 KiB of data as people write it: a ticket with a title and a text
/// of ~100 words, each different from the last event's (the search index
/// takes every word; `data`'s one long word costs it far less).
pub fn words(seq: usize) -> Value {
    const WORDS: [&str; 16] = [
        "printer", "office", "paper", "invoice", "customer", "urgent", "network", "laptop",
        "password", "reset", "shipment", "delayed", "refund", "order", "screen", "broken",
    ];
    let mut state = seq as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let mut word = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let n = (state >> 33) as usize;
        format!("{}{}", WORDS[n % WORDS.len()], n % 1000)
    };
    let title: Vec<String> = (0..8).map(|_| word()).collect();
    let mut text = String::new();
    while text.len() < 900 {
        text.push_str(&word());
        text.push(' ');
    }
    json!({"seq": seq, "ticket": format!("T-{seq}"), "title": title.join(" "), "text": text})
}

/// A baseline for a ratio: the median of three `rate`s, measured once the
/// machine has settled. Measured at once after a hookhub of the row before
/// had stopped, baselines came out a fifth to a third low for a few seconds
/// (so the ratios beside them came out high), and a single round moves with
/// every hiccup of a shared machine.
pub async fn baseline(url: &str, count: usize, in_flight: usize) -> anyhow::Result<f64> {
    tokio::time::sleep(SETTLE).await;
    let mut rounds = Vec::with_capacity(3);
    for _ in 0..3 {
        rounds.push(rate(url, count, in_flight).await?);
    }
    let each: Vec<String> = rounds.iter().map(|r| format!("{r:.0}")).collect();
    eprintln!(
        "baseline rounds, {in_flight} in flight: {} req/s",
        each.join(" / ")
    );
    rounds.sort_by(f64::total_cmp);
    Ok(rounds[1])
}

/// How long a baseline waits for the machine to settle: 5 s brought the
/// rounds back to where they are with nothing run before.
const SETTLE: Duration = Duration::from_secs(5);

/// Posts `count` bodies to `url` from `in_flight` tasks sharing one pooled client;
/// returns requests per second.
pub async fn rate(url: &str, count: usize, in_flight: usize) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    let body = serde_json::to_vec(&data(0))?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (client, next, url, body) =
            (client.clone(), next.clone(), url.to_string(), body.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < count {
                client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?
                    .error_for_status()?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Sends numbered requests at a steady `per_second` for `seconds`, each on its
/// own task so that a slow answer never holds back the next. `post(seq)` sends
/// one; the send time of each is noted in nanoseconds after `epoch`.
pub async fn steady<F, Fut>(
    per_second: u64,
    seconds: u64,
    epoch: Instant,
    post: F,
) -> anyhow::Result<Sent>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let count = (per_second * seconds) as usize;
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..count).map(|_| AtomicU64::new(0)).collect());
    let acknowledged: Arc<Vec<AtomicU64>> =
        Arc::new((0..count).map(|_| AtomicU64::new(0)).collect());
    let mut ticks = tokio::time::interval(Duration::from_nanos(1_000_000_000 / per_second));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    for seq in 0..count {
        ticks.tick().await;
        let (sent, acknowledged) = (sent.clone(), acknowledged.clone());
        let started = epoch.elapsed().as_nanos() as u64;
        let request = post(seq);
        tasks.spawn(async move {
            sent[seq].store(started, Ordering::Relaxed);
            request.await?;
            acknowledged[seq].store(epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let unwrap =
        |times: Arc<Vec<AtomicU64>>| times.iter().map(|t| t.load(Ordering::Relaxed)).collect();
    Ok(Sent {
        sent: unwrap(sent),
        acknowledged: unwrap(acknowledged),
    })
}

/// When each numbered request was sent and answered, in nanoseconds after the epoch.
pub struct Sent {
    pub sent: Vec<u64>,
    pub acknowledged: Vec<u64>,
}

/// The 50th and 99th percentiles.
pub fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_about_a_kib_and_differ_between_events() {
        let (a, b) = (super::words(1).to_string(), super::words(2).to_string());
        assert!((950..1200).contains(&a.len()), "{} bytes: {a}", a.len());
        assert_ne!(a, b);
    }
}
