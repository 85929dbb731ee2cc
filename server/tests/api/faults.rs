//! Receivers that misbehave, each a real socket on 127.0.0.1: hookhub records
//! every fault with a clear error class, retries it on the schedule, keeps
//! its memory bounded, and goes on delivering to everyone else meanwhile.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{TestApp, spawn_app_with, wait_for};
use crate::receiver::{Receiver, Reply};

/// What a faulty receiver does once it has read a request.
#[derive(Debug, Clone)]
enum Fault {
    /// Answers 200, but only after this long.
    AnswerAfter(Duration),
    /// Sends a 200's head, then nothing.
    HeadersThenStall,
    /// Sends a 200's head, then its body one byte a second.
    Trickle,
    /// Sends a 200 with a 1 GiB body, as fast as it is read.
    Huge,
    /// Closes the connection with a reset (RST), answering nothing.
    Reset,
    /// Answers something that is not HTTP.
    Garbage,
    /// Answers a redirect to this URL.
    Redirect(u16, String),
}

const GIB: u64 = 1 << 30;

/// A receiver with one fault; counts what it saw.
#[derive(Clone)]
struct Faulty {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Debug, Default)]
struct Seen {
    requests: usize,
    /// When hookhub gave up on a connection (read end or error), per request.
    closed: Vec<Instant>,
    /// Bytes of the 1 GiB body written before hookhub closed the connection.
    body_bytes_sent: u64,
}

impl Faulty {
    async fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let faulty = Self {
            url,
            seen: seen.clone(),
        };
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (fault, seen) = (fault.clone(), seen.clone());
                tokio::spawn(async move { serve(socket, fault, seen).await });
            }
        });
        faulty
    }

    fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.seen.lock().unwrap())
    }
}

/// Reads one request (head and `Content-Length` body), then misbehaves.
async fn serve(mut socket: TcpStream, fault: Fault, seen: Arc<Mutex<Seen>>) {
    if read_request(&mut socket).await.is_none() {
        return;
    }
    seen.lock().unwrap().requests += 1;
    let head_200 = |length: u64| format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
    match fault {
        Fault::AnswerAfter(delay) => {
            tokio::time::sleep(delay).await;
            let _ = socket.write_all(head_200(2).as_bytes()).await;
            let _ = socket.write_all(b"ok").await;
        }
        Fault::HeadersThenStall => {
            let _ = socket.write_all(head_200(100).as_bytes()).await;
        }
        Fault::Trickle => {
            let _ = socket.write_all(head_200(100).as_bytes()).await;
            for _ in 0..100 {
                if socket.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Fault::Huge => {
            let _ = socket.write_all(head_200(GIB).as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < GIB && socket.write_all(&chunk).await.is_ok() {
                sent += chunk.len() as u64;
            }
            seen.lock().unwrap().body_bytes_sent = sent;
        }
        Fault::Reset => {
            socket.set_zero_linger().unwrap();
            drop(socket);
            return;
        }
        Fault::Garbage => {
            let _ = socket
                .write_all(b"THIS IS NOT HTTP\r\nat all\r\n\r\n")
                .await;
        }
        Fault::Redirect(status, location) => {
            let answer = format!(
                "HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            return;
        }
    }
    // Wait for hookhub to hang up: the time it gave up on this attempt.
    let mut rest = [0u8; 1024];
    while matches!(socket.read(&mut rest).await, Ok(n) if n > 0) {}
    seen.lock().unwrap().closed.push(Instant::now());
}

async fn read_request(socket: &mut TcpStream) -> Option<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().unwrap());
    while buffer.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(())
}

/// The deliveries of `webhook_id` with their attempts, once none is in progress.
async fn settled(app: &TestApp, webhook_id: &str, within: Duration) -> Vec<Value> {
    let path = format!("/api/deliveries?webhook_id={webhook_id}");
    let deliveries = wait_for("its deliveries settled", within, async || {
        let deliveries = app.admin_json(&path).await["data"]
            .as_array()
            .unwrap()
            .clone();
        let done = !deliveries.is_empty()
            && deliveries
                .iter()
                .all(|d| d["status"] == "succeeded" || d["status"] == "failed");
        done.then_some(deliveries)
    })
    .await;
    let mut detailed = Vec::new();
    for delivery in deliveries {
        let id = delivery["id"].as_str().unwrap();
        let detail: Value = app.admin_json(&format!("/api/deliveries/{id}")).await;
        detailed.push(detail["data"].clone());
    }
    detailed
}

#[tokio::test]
async fn every_receiver_fault_is_recorded_with_its_class_retried_and_delays_no_one_else() {
    let app = spawn_app_with(&[
        "--allow-private-targets",
        "--delivery-timeout=2s",
        "--retry-schedule=1s",
    ])
    .await;
    let healthy = Receiver::start().await;
    let redirected = format!("{}/redirected", healthy.url);
    let faults = [
        ("late", Fault::AnswerAfter(Duration::from_secs(3))),
        ("stall", Fault::HeadersThenStall),
        ("trickle", Fault::Trickle),
        ("huge", Fault::Huge),
        ("reset", Fault::Reset),
        ("garbage", Fault::Garbage),
        ("moved", Fault::Redirect(301, redirected.clone())),
        ("found", Fault::Redirect(302, redirected.clone())),
    ];
    let mut receivers = Vec::new();
    for (name, fault) in faults {
        let faulty = Faulty::start(fault).await;
        let webhook = app
            .create_webhook(
                json!({"name": name, "url": faulty.url, "events": [format!("fault.{name}")]}),
            )
            .await;
        receivers.push((name, faulty, webhook["id"].as_str().unwrap().to_string()));
    }
    app.create_webhook(json!({"name": "healthy", "url": healthy.url, "events": ["ok.*"]}))
        .await;

    for (name, _, _) in &receivers {
        app.publish(&format!("fault.{name}"), json!({"fault": name}))
            .await;
    }
    // While the faulty receivers hold their attempts, the healthy one is served.
    let healthy_start = Instant::now();
    for n in 0..20 {
        app.publish("ok.ping", json!({"n": n})).await;
    }
    let arrived = healthy.wait_for(20, Duration::from_secs(10)).await;
    let last_healthy = arrived.iter().map(|r| r.at).max().unwrap();

    let mut report = vec![format!(
        "healthy: 20 events published and received in {:?}",
        last_healthy - healthy_start
    )];
    for (name, faulty, webhook_id) in &receivers {
        let deliveries = settled(&app, webhook_id, Duration::from_secs(30)).await;
        assert_eq!(deliveries.len(), 1, "{name}");
        let delivery = &deliveries[0];
        let attempts = delivery["attempts"].as_array().unwrap();
        let first = &attempts[0];
        report.push(format!(
            "{name}: {} after {} attempt(s), class {}, \"{}\"",
            delivery["status"],
            delivery["attempt_count"],
            first["error_class"],
            delivery["last_error"]
        ));
        if *name == "huge" {
            // The answer is a success; its body is cut at 64 KiB and the
            // rest never read: the receiver could not push it all.
            assert_eq!(delivery["status"], "succeeded", "{delivery:#}");
            let response = &first["response"];
            assert_eq!(response["body_truncated"], true);
            assert_eq!(response["body"].as_str().unwrap().len(), 64 * 1024);
            let sent = faulty.seen(|seen| seen.body_bytes_sent);
            assert!(sent < 64 << 20, "hookhub read on: {sent} bytes sent");
            report.push(format!(
                "huge: {} KiB of 1 GiB written before hookhub hung up",
                sent >> 10
            ));
            continue;
        }
        assert_eq!(delivery["status"], "failed", "{name}: {delivery:#}");
        assert_eq!(attempts.len(), 2, "{name}: retried once, per the schedule");
        assert_eq!(faulty.seen(|seen| seen.requests), 2, "{name}");
        let (class, in_words) = match *name {
            "late" | "stall" | "trickle" => ("timeout", "timed out after 2 s"),
            "reset" => ("connect", "connection reset"),
            "garbage" => ("invalid-response", "invalid HTTP answer"),
            "moved" => ("http-status", "HTTP 301"),
            "found" => ("http-status", "HTTP 302"),
            other => unreachable!("{other}"),
        };
        for attempt in attempts {
            assert_eq!(attempt["error_class"], class, "{name}: {attempt:#}");
        }
        assert_eq!(delivery["last_error"], in_words, "{name}");
        if matches!(*name, "late" | "stall" | "trickle") {
            // The healthy deliveries all arrived before this one's first attempt ended.
            let first_closed = faulty.seen(|seen| seen.closed[0]);
            assert!(
                last_healthy < first_closed,
                "{name} delayed the healthy webhook"
            );
        }
    }
    // Redirects are never followed.
    assert!(
        healthy.received().iter().all(|r| r.path != "/redirected"),
        "a redirect was followed"
    );
    eprintln!("{}", report.join("\n"));
}

#[tokio::test]
async fn retry_after_on_429_and_503_lengthens_the_wait_up_to_the_next_step() {
    let app = spawn_app_with(&["--allow-private-targets", "--retry-schedule=1s,4s"]).await;
    let receiver = Receiver::start().await;
    let mut busy = Reply::status(429);
    busy.retry_after = Some("3");
    let mut unavailable = Reply::status(503);
    unavailable.retry_after = Some("3600");
    receiver.script([busy, unavailable]);
    let webhook = app
        .create_webhook(json!({"name": "busy", "url": receiver.url, "events": ["*"]}))
        .await;
    app.publish("ticket.create", json!({})).await;
    let received = receiver.wait_for(3, Duration::from_secs(20)).await;
    // 429 asked for 3 s: longer than the 1 s step, within the next (4 s); jitter is ±10 %.
    let first_wait = received[1].at - received[0].at;
    assert!(first_wait >= Duration::from_millis(2_700), "{first_wait:?}");
    // 503 asked for an hour: held to the last step, 4 s.
    let second_wait = received[2].at - received[1].at;
    assert!(
        second_wait >= Duration::from_millis(3_600) && second_wait < Duration::from_secs(60),
        "{second_wait:?}"
    );
    let deliveries = settled(
        &app,
        webhook["id"].as_str().unwrap(),
        Duration::from_secs(10),
    )
    .await;
    let attempts = deliveries[0]["attempts"].as_array().unwrap();
    let statuses: Vec<&Value> = attempts
        .iter()
        .map(|a| &a["response"]["status_code"])
        .collect();
    assert_eq!(statuses, [&json!(429), &json!(503), &json!(200)]);
    assert_eq!(attempts[0]["error_class"], "http-status");
    assert_eq!(deliveries[0]["status"], "succeeded");
}

#[tokio::test]
async fn a_410_gone_switches_the_webhook_off_at_once_without_retrying() {
    let app = spawn_app_with(&["--allow-private-targets", "--retry-schedule=1s,1s"]).await;
    let gone = Receiver::answering(Reply::status(410)).await;
    let healthy = Receiver::start().await;
    let webhook = app
        .create_webhook(json!({"name": "gone", "url": gone.url, "events": ["ticket.*"]}))
        .await;
    let id = webhook["id"].as_str().unwrap();
    app.create_webhook(json!({"name": "fine", "url": healthy.url, "events": ["ticket.*"]}))
        .await;
    app.publish("ticket.create", json!({"n": 1})).await;
    let deliveries = settled(&app, id, Duration::from_secs(10)).await;
    assert_eq!(deliveries[0]["status"], "failed");
    assert_eq!(deliveries[0]["attempt_count"], 1, "a 410 is not retried");
    assert_eq!(deliveries[0]["last_error"], "HTTP 410");

    let webhook = app.webhook(id).await;
    assert_eq!(webhook["active"], false);
    assert_eq!(webhook["health"]["state"], "disabled");
    assert_eq!(
        webhook["health"]["disabled_reason"],
        "the receiver answered 410 Gone"
    );
    assert!(webhook["health"]["disabled_at"].is_string());

    // Switched off: later events go to the other webhook only.
    app.publish("ticket.update", json!({"n": 2})).await;
    healthy.wait_for(2, Duration::from_secs(10)).await;
    app.settled().await;
    assert_eq!(gone.count(), 1);
}
