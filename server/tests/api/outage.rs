//! PostgreSQL going away under running `hookhub serve` processes, and coming
//! back: health and the API answer 503 meanwhile, nothing accepted is lost,
//! and every instance serves again within seconds of its return, its first
//! requests included, without a restart. Each test runs a cluster of its
//! own, which it stops and starts (the suite's shared cluster stays up).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, wait_until};
use crate::process::{Hookhub, launch, numbers};
use crate::receiver::Receiver;

/// A PostgreSQL cluster of the test's own on a free port of 127.0.0.1.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

/// Runs a PostgreSQL program as the user owning the cluster (`postgres`
/// when the tests run as root: PostgreSQL refuses root).
fn as_owner(program: PathBuf) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

fn run(mut command: Command) {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Cluster {
    /// A new cluster with an empty database `hookhub`, or `None` (skipped,
    /// said on stderr) without PostgreSQL, which the test command forbids.
    fn start_new() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .max();
        let Some(bin) = bin else {
            assert!(
                std::env::var_os("HOOKHUB_REQUIRE_POSTGRES").is_none(),
                "no PostgreSQL under /usr/lib/postgresql: scripts/test installs it"
            );
            eprintln!("skipped: no PostgreSQL (scripts/test installs it)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("hookhub-outage")
            .tempdir()
            .unwrap();
        if is_root() {
            run({
                let mut chown = Command::new("chown");
                chown.arg("postgres").arg(dir.path());
                chown
            });
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self { bin, dir, port };
        let mut initdb = as_owner(cluster.bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(cluster.data())
            .args(["-U", "hookhub", "--auth=trust", "-E", "UTF8"]);
        run(initdb);
        cluster.start();
        let mut createdb = as_owner(cluster.bin.join("createdb"));
        createdb
            .args(["-h", "127.0.0.1", "-p", &cluster.port.to_string()])
            .args(["-U", "hookhub", "hookhub"]);
        run(createdb);
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://hookhub@127.0.0.1:{}/hookhub", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut command = as_owner(self.bin.join("pg_ctl"));
        command.arg("-D").arg(self.data()).args(args);
        command
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let mut start = self.pg_ctl(&["-w", "-o", &options, "-l"]);
        start.arg(log).arg("start");
        run(start);
    }

    /// Stops it as an administrator would: sessions are told "terminating
    /// connection due to administrator command".
    fn stop(&self) {
        run(self.pg_ctl(&["-m", "fast", "-w", "stop"]));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]).output();
    }
}

/// What one request came to: its status, `Retry-After`, and its JSON body.
async fn call(
    hookhub: &Hookhub,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut request = client
        .request(method, format!("{}{path}", hookhub.address))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_string());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

/// Waits until `GET /api/health` answers `status`; its body then.
async fn wait_for_health(hookhub: &Hookhub, status: u16, within: Duration) -> Value {
    let mut body = Value::Null;
    let what = format!("health {status} from {}", hookhub.address);
    wait_until(&what, within, async || {
        let (answered, _, said) = call(hookhub, reqwest::Method::GET, "/api/health", None).await;
        body = said;
        answered == status
    })
    .await;
    body
}

/// Waits until the receiver has every number below `count`.
async fn wait_for_numbers(receiver: &Receiver, count: usize, within: Duration) {
    let what = format!("{count} events at the receiver");
    wait_until(&what, within, async || numbers(receiver).len() >= count).await;
}

#[tokio::test]
async fn three_instances_answer_503_while_the_database_is_away_and_serve_again_when_it_returns() {
    let Some(cluster) = Cluster::start_new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = cluster.url();
    let (a, b, c) = tokio::join!(
        launch(&url, dir.path(), &[], None),
        launch(&url, dir.path(), &[], None),
        launch(&url, dir.path(), &[], None),
    );
    let instances = [a, b, c];
    let receiver = Receiver::start().await;
    let webhook = json!({"name": "jobs", "url": receiver.url, "events": ["job.*"]});
    instances[0].post("/api/webhooks", webhook).await;
    for (turn, instance) in instances.iter().enumerate() {
        instance.publish_range(turn * 100..turn * 100 + 100).await;
    }

    cluster.stop();
    for instance in &instances {
        let body = wait_for_health(instance, 503, Duration::from_secs(10)).await;
        assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("database")
        );
        for path in ["/api/webhooks", "/api/deliveries", "/metrics"] {
            let started = Instant::now();
            let (status, retry_after, body) =
                call(instance, reqwest::Method::GET, path, None).await;
            assert_eq!(status, 503, "{path}: {body}");
            assert_eq!(
                body["error"]["code"], "database_unavailable",
                "{path}: {body}"
            );
            assert!(retry_after.is_some(), "{path}: no Retry-After");
            // Not the pool's wait for a connection that will not come.
            assert!(started.elapsed() < Duration::from_secs(5), "{path} waited");
        }
        let event = json!({"type": "job.run", "data": {"n": -1}});
        let (status, retry_after, _) =
            call(instance, reqwest::Method::POST, "/api/events", Some(event)).await;
        assert_eq!(
            (status, retry_after.is_some()),
            (503, true),
            "a publication"
        );
    }

    cluster.start();
    for instance in &instances {
        wait_for_health(instance, 200, Duration::from_secs(20)).await;
        // The first requests after the return get fresh connections, not
        // the ones the database closed.
        for _ in 0..20 {
            let (status, _, body) =
                call(instance, reqwest::Method::GET, "/api/webhooks", None).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    for (turn, instance) in instances.iter().enumerate() {
        instance
            .publish_range(300 + turn * 100..400 + turn * 100)
            .await;
    }
    wait_for_numbers(&receiver, 600, Duration::from_secs(60)).await;
    assert!(
        !numbers(&receiver).contains(&-1),
        "a refused publication was sent"
    );
}

#[tokio::test]
async fn an_instance_started_while_the_database_is_away_waits_for_it() {
    let Some(cluster) = Cluster::start_new() else {
        return;
    };
    cluster.stop();
    let dir = tempfile::tempdir().unwrap();
    let url = cluster.url();
    let (instance, ()) = tokio::join!(launch(&url, dir.path(), &[], None), async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        cluster.start();
    });
    let waited = instance
        .lines
        .lock()
        .unwrap()
        .iter()
        .any(|line| line.contains("PostgreSQL cannot be reached; waiting for it"));
    assert!(waited, "the instance did not say it waited");
    wait_for_health(&instance, 200, Duration::from_secs(10)).await;
    let receiver = Receiver::start().await;
    let webhook = json!({"name": "jobs", "url": receiver.url, "events": ["job.*"]});
    instance.post("/api/webhooks", webhook).await;
    instance.publish_range(0..10).await;
    wait_for_numbers(&receiver, 10, Duration::from_secs(30)).await;
}

/// A restart quicker than anyone notices: no request meets the database
/// away, so the pool's idle connections, closed by the server, are all still
/// there when it is back. None of them may be handed to a request.
#[tokio::test]
async fn after_a_quick_restart_no_request_gets_a_connection_the_database_closed() {
    let Some(cluster) = Cluster::start_new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let instance = launch(&cluster.url(), dir.path(), &[], None).await;
    // Each at once, so that each needs a connection of its own.
    let requests = |count: usize| {
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..count {
            let url = format!("{}/api/webhooks", instance.address);
            requests.spawn(async move {
                let response = reqwest::Client::new()
                    .get(url)
                    .bearer_auth(ADMIN_TOKEN)
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            });
        }
        requests.join_all()
    };
    // Many connections opened, then left idle.
    for (status, body) in requests(32).await {
        assert_eq!(status, 200, "{body}");
    }
    // Down for a little over a second, which is as quick as a restart gets:
    // no connection used before it is handed out unchecked after it.
    cluster.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cluster.start();
    for (status, body) in requests(32).await {
        assert_eq!(status, 200, "{body}");
    }
}
