//! The real `hookhub` binary: SIGTERM and kill -9 lose nothing.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{ADMIN_TOKEN, wait_for, wait_until};
use crate::receiver::{Receiver, Reply};

pub struct Hookhub {
    pub child: Child,
    pub address: String,
    /// Every line it has written to stdout so far.
    pub lines: Arc<Mutex<Vec<String>>>,
}

/// Starts `hookhub serve` on a free port with the database in `dir`.
async fn start(dir: &Path) -> Hookhub {
    start_with(dir, &[], None).await
}

/// `start` with extra flags and, if given, a lower limit of open files.
async fn start_with(dir: &Path, extra: &[&str], open_files: Option<u32>) -> Hookhub {
    let database_url = format!("sqlite://{}/hookhub.db", dir.display());
    launch(&database_url, dir, extra, open_files).await
}

/// Starts `hookhub serve` on a free port with the database at
/// `database_url` and the secret key in `dir`.
pub async fn launch(
    database_url: &str,
    dir: &Path,
    extra: &[&str],
    open_files: Option<u32>,
) -> Hookhub {
    let mut command = match open_files {
        Some(limit) => {
            let mut shell = Command::new("sh");
            shell
                .arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(env!("CARGO_BIN_EXE_hookhub"));
            shell
        }
        None => Command::new(env!("CARGO_BIN_EXE_hookhub")),
    };
    let mut child = command
        .arg("serve")
        .args([
            "--listen",
            "127.0.0.1:0",
            // Well above the receivers' delays, so that load on a CI machine
            // does not turn a slow answer into a timeout and a second send.
            "--delivery-timeout",
            "2s",
            "--retry-schedule",
            "1s",
        ])
        .arg(format!("--database-url={database_url}"))
        .arg(format!("--secret-key-file={}/secret.key", dir.display()))
        .arg(format!("--admin-token={ADMIN_TOKEN}"))
        .args([
            "--admin-password",
            "process-test-password",
            "--allow-private-targets",
        ])
        .args(extra)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // What it says on stderr (the one-time password, a failed start), kept
    // to explain a start that fails.
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let said = tokio::spawn(async move {
        let mut said = Vec::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            said.push(line);
        }
        said
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut copy = crate::helpers::log_file("process");
    let mut keep = {
        let lines = lines.clone();
        move |line: &str| {
            if let Some(file) = copy.as_mut() {
                writeln!(file, "{line}").unwrap();
            }
            lines.lock().unwrap().push(line.to_string());
        }
    };
    let address = loop {
        let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .expect("hookhub did not start")
            .unwrap();
        let Some(line) = line else {
            let said = tokio::time::timeout(Duration::from_secs(5), said).await;
            panic!("hookhub exited at start: {said:?}");
        };
        keep(&line);
        if let Some(address) = listening_address(&line) {
            break format!("http://{address}");
        }
    };
    // keep reading so that the server never blocks on a full pipe
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            keep(&line);
        }
    });
    Hookhub {
        child,
        address,
        lines,
    }
}

/// The address of the "hookhub is listening" line, in text or JSON.
fn listening_address(line: &str) -> Option<String> {
    if line.starts_with('{') {
        let line: Value = serde_json::from_str(line).ok()?;
        return Some(line["fields"]["address"].as_str()?.to_string());
    }
    let rest = line.split("address=").nth(1)?;
    Some(rest.split_whitespace().next()?.to_string())
}

impl Hookhub {
    /// `GET path` as the administrator: the answer's JSON.
    pub async fn get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn publish_numbers(&self, count: usize) {
        self.publish_range(0..count).await;
    }

    /// Publishes one `job.run` event per number, `{"n": number}`, in one request.
    pub async fn publish_range(&self, numbers: std::ops::Range<usize>) {
        let events: Vec<Value> = numbers
            .map(|n| json!({"type": "job.run", "data": {"n": n}}))
            .collect();
        self.post("/api/events", json!({"events": events})).await;
    }

    /// Waits until `count` deliveries are recorded as succeeded.
    async fn wait_until_succeeded(&self, count: usize) {
        let what = format!("{count} deliveries succeeded");
        wait_until(&what, Duration::from_secs(30), async || {
            let page = self.get("/api/deliveries?status=succeeded&limit=500").await;
            page["data"].as_array().unwrap().len() == count
        })
        .await;
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// The distinct numbers of the `job.run` events `receiver` got.
pub fn numbers(receiver: &Receiver) -> Vec<i64> {
    let mut numbers: Vec<i64> = receiver
        .received()
        .iter()
        .map(|r| r.json()["data"]["n"].as_i64().unwrap())
        .collect();
    numbers.sort();
    numbers.dedup();
    numbers
}

#[tokio::test]
async fn after_kill_9_and_a_restart_every_accepted_event_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::answering(Reply::ok().after(Duration::from_millis(100))).await;
    let first = start(dir.path()).await;
    first
        .post(
            "/api/webhooks",
            json!({"name": "slow", "url": receiver.url, "events": ["job.*"]}),
        )
        .await;
    first.publish_numbers(200).await;
    receiver.wait_for(20, Duration::from_secs(20)).await;
    first.signal("-KILL");
    let mut first = first;
    first.child.wait().await.unwrap();
    assert!(
        numbers(&receiver).len() < 200,
        "everything arrived before the kill"
    );

    let _second = start(dir.path()).await;
    wait_until("all 200 events", Duration::from_secs(60), async || {
        numbers(&receiver).len() >= 200
    })
    .await;
    // duplicates are allowed after a crash, but carry the same webhook-id
    let received = receiver.received();
    for n in 0..200 {
        let ids: Vec<&str> = received
            .iter()
            .filter(|r| r.json()["data"]["n"] == n)
            .map(|r| r.header("webhook-id").unwrap())
            .collect();
        assert!(
            ids.windows(2).all(|pair| pair[0] == pair[1]),
            "event {n}: {ids:?}"
        );
    }
}

#[tokio::test]
async fn after_kill_9_mid_sequence_each_keys_events_still_arrive_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::answering(Reply::ok().after(Duration::from_millis(50))).await;
    let first = start(dir.path()).await;
    first
        .post(
            "/api/webhooks",
            json!({"name": "ordered", "url": receiver.url, "events": ["job.*"]}),
        )
        .await;
    // Two keys of 30 events each, interleaved.
    let events: Vec<Value> = (0..60)
        .map(|n| json!({"type": "job.run", "data": {"n": n}, "ordering_key": format!("key/{}", n % 2)}))
        .collect();
    first.post("/api/events", json!({"events": events})).await;
    receiver.wait_for(10, Duration::from_secs(20)).await;
    first.signal("-KILL");
    let mut first = first;
    first.child.wait().await.unwrap();
    assert!(
        numbers(&receiver).len() < 60,
        "everything arrived before the kill"
    );

    let _second = start(dir.path()).await;
    wait_until("all 60 events", Duration::from_secs(60), async || {
        numbers(&receiver).len() >= 60
    })
    .await;
    // What was in flight at the kill comes again (right after itself),
    // and nothing of its key before it is done.
    let received: Vec<i64> = receiver
        .received()
        .iter()
        .map(|r| r.json()["data"]["n"].as_i64().unwrap())
        .collect();
    for key in 0..2 {
        let sequence: Vec<i64> = received.iter().copied().filter(|n| n % 2 == key).collect();
        assert!(
            sequence.windows(2).all(|pair| pair[0] <= pair[1]),
            "key/{key}: {sequence:?}"
        );
    }
}

#[tokio::test]
async fn sigterm_finishes_attempts_in_flight_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::answering(Reply::ok().after(Duration::from_millis(500))).await;
    let mut first = start(dir.path()).await;
    first
        .post(
            "/api/webhooks",
            json!({"name": "slow", "url": receiver.url, "events": ["job.*"]}),
        )
        .await;
    first.publish_numbers(40).await;
    receiver.wait_for(1, Duration::from_secs(20)).await;
    first.signal("-TERM");
    let status = tokio::time::timeout(Duration::from_secs(20), first.child.wait())
        .await
        .expect("hookhub did not stop")
        .unwrap();
    assert!(status.success(), "exit status {status}");
    let before_restart = receiver.received().len();
    assert_eq!(
        receiver.answered(),
        before_restart,
        "an attempt in flight was cut off"
    );
    assert!(before_restart < 40, "everything arrived before SIGTERM");

    // what was finished is not sent again; the rest follows after a restart
    let second = start(dir.path()).await;
    receiver.wait_for(40, Duration::from_secs(30)).await;
    // Every send is recorded after it is made: once all 40 are recorded as
    // succeeded, none is due and any second send has already arrived.
    second.wait_until_succeeded(40).await;
    assert_eq!(receiver.received().len(), 40, "deliveries were sent twice");
    assert_eq!(numbers(&receiver).len(), 40);
}

/// Peak resident memory of a process, in bytes (`VmHWM`).
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test]
async fn a_flood_of_wrong_logins_at_once_is_limited_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let hookhub = start(dir.path()).await;
    let client = reqwest::Client::new();
    let logins = (0..100).map(|_| {
        client
            .post(format!("{}/api/session", hookhub.address))
            .json(&json!({"username": "admin", "password": "wrong-password"}))
            .send()
    });
    let statuses: Vec<u16> = futures_statuses(logins).await;
    let refused = statuses.iter().filter(|&&s| s == 401).count();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(refused + limited, 100, "{statuses:?}");
    assert!(refused <= 5, "{refused} wrong passwords were checked");
    let peak = peak_memory(hookhub.child.id().unwrap());
    assert!(peak < 200 << 20, "peak memory {} MiB", peak >> 20);
}

/// Sends every request at once; their statuses in order.
async fn futures_statuses(
    requests: impl Iterator<
        Item = impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    >,
) -> Vec<u16> {
    let handles: Vec<_> = requests.map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap().unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed_and_never_lock_out_others() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let hookhub = start_with(dir.path(), &["--idle-timeout", "2s"], Some(256)).await;
    let host = hookhub.address.trim_start_matches("http://").to_string();
    // More sockets than the process may open: idle ones, partial request
    // heads, and requests whose body stops arriving.
    let mut sockets = Vec::new();
    for n in 0..366 {
        let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
        match n % 3 {
            0 => {}
            1 => socket
                .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap(),
            _ => {
                let head = format!(
                    "POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
                     Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"type\""
                );
                socket.write_all(head.as_bytes()).await.unwrap();
            }
        }
        sockets.push(socket);
    }
    let health = reqwest::Client::new()
        .get(format!("{}/api/health", hookhub.address))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("health did not answer while the sockets were open");
    assert_eq!(health.status(), 200);

    // Every socket is closed by hookhub once the idle timeout has passed:
    // reading reaches the end (after a 408 for the stalled bodies).
    for (n, mut socket) in sockets.into_iter().enumerate() {
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("socket {n} is still open"))
            .ok();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "socket {n}: {answer}"
        );
    }
    let health = reqwest::get(format!("{}/api/health", hookhub.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_database_url_hookhub_cannot_serve_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["mysql://root@127.0.0.1:3306/hookhub", "data/hookhub.db"] {
        let output = Command::new(env!("CARGO_BIN_EXE_hookhub"))
            .current_dir(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .output()
            .await
            .unwrap();
        assert!(!output.status.success(), "{url}: started");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains("sqlite://"), "{url}: {message}");
        let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(created.is_empty(), "{url}: created {created:?}");
    }
}

#[tokio::test]
async fn a_second_hookhub_on_the_same_sqlite_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path()).await;
    let second = tokio::time::timeout(
        Duration::from_secs(20),
        Command::new(env!("CARGO_BIN_EXE_hookhub"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg(format!(
                "--database-url=sqlite://{}/hookhub.db",
                dir.path().display()
            ))
            .arg(format!(
                "--secret-key-file={}/secret.key",
                dir.path().display()
            ))
            .env("NO_COLOR", "1")
            .output(),
    )
    .await
    .expect("the second hookhub neither started nor stopped")
    .unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("in use by another hookhub process"), "{said}");
    // The first one goes on serving.
    let health = reqwest::get(format!("{}/api/health", first.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // Once the first has stopped, the file can be opened again.
    first.signal("-TERM");
    let mut first = first;
    first.child.wait().await.unwrap();
    let _third = start(dir.path()).await;
}

#[tokio::test]
async fn json_logs_give_a_line_per_attempt_and_request_ids_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(503)]);
    let hookhub = start_with(dir.path(), &["--log-format", "json"], None).await;
    let password = "basic-password-in-no-log";
    let header_value = "header-secret-in-no-log";
    let webhook = hookhub
        .post(
            "/api/webhooks",
            json!({"name": "logged", "url": receiver.url, "events": ["job.*"],
                   "auth": {"type": "basic", "username": "u", "password": password},
                   "headers": {"X-Api-Key": header_value}}),
        )
        .await;
    let webhook_id = webhook["data"]["id"].as_str().unwrap();
    let client = reqwest::Client::new();
    let secret = hookhub
        .get(&format!("/api/webhooks/{webhook_id}/secret"))
        .await;
    let secret = secret["data"]["secret"].as_str().unwrap().to_string();
    hookhub.publish_range(0..1).await;
    // 503 first, then the retry a second later succeeds.
    receiver.wait_for(2, Duration::from_secs(20)).await;
    let refused = client
        .get(format!("{}/api/webhooks", hookhub.address))
        .bearer_auth("hh_a-wrong-token-that-is-long-enough")
        .header("x-request-id", "probe-42")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["x-request-id"], "probe-42");

    let lines = wait_for(
        "two attempts and the refusal logged",
        Duration::from_secs(10),
        async || {
            let lines: Vec<Value> = hookhub
                .lines
                .lock()
                .unwrap()
                .iter()
                .map(|line| serde_json::from_str(line).expect("every line is JSON"))
                .collect();
            let attempts = lines
                .iter()
                .filter(|line| line["fields"]["message"] == "delivery attempt")
                .count();
            let probed = lines
                .iter()
                .any(|line| line["span"]["request_id"] == "probe-42");
            (attempts == 2 && probed).then_some(lines)
        },
    )
    .await;
    let attempts: Vec<&Value> = lines
        .iter()
        .map(|line| &line["fields"])
        .filter(|fields| fields["message"] == "delivery attempt")
        .collect();
    assert_eq!(attempts[0]["outcome"], "retrying");
    assert_eq!(attempts[0]["status"], 503);
    assert_eq!(attempts[0]["class"], "http-status");
    assert_eq!(attempts[1]["outcome"], "succeeded");
    assert_eq!(attempts[1]["attempt"], 2);
    assert_eq!(attempts[0]["delivery"], attempts[1]["delivery"]);
    assert_eq!(attempts[1]["webhook"], webhook_id);
    let answered = lines
        .iter()
        .find(|line| {
            line["span"]["request_id"] == "probe-42" && line["fields"]["message"] == "answered"
        })
        .unwrap();
    assert_eq!(answered["span"]["route"], "/api/webhooks");
    assert_eq!(answered["fields"]["status"], 401);
    let text = hookhub.lines.lock().unwrap().join("\n");
    for secret in [
        password,
        header_value,
        &secret,
        ADMIN_TOKEN,
        "process-test-password",
        "hh_a-wrong-token-that-is-long-enough",
    ] {
        assert!(!text.contains(secret), "{secret} is in the log:\n{text}");
    }
}

#[tokio::test]
async fn request_bodies_in_flight_have_a_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let hookhub = start(dir.path()).await;
    // Sixty events of nearly 10 MiB each, all at once.
    let blob = "x".repeat(10 * 1024 * 1024 - 100);
    let body = axum::body::Bytes::from(format!(
        r#"{{"type": "big.blob", "data": {{"blob": "{blob}"}}}}"#
    ));
    drop(blob);
    let client = reqwest::Client::new();
    let url = format!("{}/api/events", hookhub.address);
    let sends: Vec<_> = (0..60)
        .map(|_| {
            let request = client
                .post(&url)
                .bearer_auth(ADMIN_TOKEN)
                .header("content-type", "application/json")
                .body(body.clone())
                .send();
            tokio::spawn(request)
        })
        .collect();
    // A small event beside them is not crowded out.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let small = client
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"type": "small.one", "data": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 202, "{:?}", small.text().await);
    let mut accepted = 0;
    let mut busy = 0;
    for send in sends {
        let response = send.await.unwrap().unwrap();
        match response.status().as_u16() {
            202 => accepted += 1,
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                let error: Value = response.json().await.unwrap();
                assert_eq!(error["error"]["code"], "server_busy");
                busy += 1;
            }
            other => panic!("{other}: {:?}", response.text().await),
        }
    }
    assert_eq!(accepted + busy, 60);
    assert!(accepted >= 8, "only {accepted} of 60 accepted");
    let peak = peak_memory(hookhub.child.id().unwrap());
    eprintln!(
        "60 bodies of 10 MiB: {accepted} accepted, {busy} busy, peak {} MiB",
        peak >> 20
    );
    assert!(peak < 800 << 20, "peak memory {} MiB", peak >> 20);
}
