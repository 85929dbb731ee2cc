//! A real `hookhub serve` in its own process, on a fresh SQLite file, so that
//! its memory is its own and nothing of the bench runs inside it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub const TOKEN: &str = "bench-admin-token-0123456789";

pub struct Server {
    child: Child,
    pub base: String,
    pub client: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts hookhub (the binary next to this one) and waits until it answers.
    pub async fn start(static_dir: Option<&Path>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let root = dir.path().display();
        let mut command = Command::new(hookhub_binary()?);
        command
            .arg("serve")
            .arg(format!("--listen=127.0.0.1:{port}"))
            .arg(format!("--database-url=sqlite://{root}/hookhub.db"))
            .arg(format!("--secret-key-file={root}/secret.key"))
            .arg(format!("--admin-token={TOKEN}"))
            .arg("--admin-password=bench-admin-password")
            // The receiver listens on 127.0.0.1.
            .arg("--allow-private-targets")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(static_dir) = static_dir {
            command.arg(format!("--static-dir={}", static_dir.display()));
        }
        let child = command.spawn().context("starting hookhub")?;
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            dir,
        };
        for _ in 0..500 {
            if server
                .client
                .get(server.url("/api/health"))
                .send()
                .await
                .is_ok()
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("hookhub did not answer within 10 s")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn database_url(&self) -> String {
        format!("sqlite://{}/hookhub.db", self.dir.path().display())
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("POST {path} answered {status}: {body}");
        }
        Ok(body)
    }

    /// Creates an active webhook; returns its id.
    pub async fn webhook(&self, name: &str, url: &str, events: &[&str]) -> anyhow::Result<String> {
        let created = self
            .post(
                "/api/webhooks",
                &json!({"name": name, "url": url, "events": events}),
            )
            .await?;
        Ok(created["data"]["id"]
            .as_str()
            .context("webhook id")?
            .to_string())
    }

    /// Resident memory now and at its peak, in bytes.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find(|line| line.starts_with(name))
                .with_context(|| format!("{name} in /proc/.../status"))?;
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .context("a number")?
                .parse()?;
            Ok(kib * 1024)
        };
        Ok(Memory {
            now: field("VmRSS:")?,
            peak: field("VmHWM:")?,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Memory {
    pub now: u64,
    pub peak: u64,
}

fn hookhub_binary() -> anyhow::Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name("hookhub");
    if !path.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p hookhub` (scripts/bench does)",
            path.display()
        );
    }
    Ok(path)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
