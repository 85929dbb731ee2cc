//! A real `hookhub serve` in its own process, on a fresh SQLite file or a
//! fresh PostgreSQL database, so that its memory is its own and nothing of
//! the bench runs inside it.

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
    database_url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts hookhub (the binary next to this one) on a fresh SQLite file
    /// and waits until it answers.
    pub async fn start(static_dir: Option<&Path>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let database_url = format!("sqlite://{}/hookhub.db", dir.path().display());
        let key_file = dir.path().join("secret.key");
        Self::launch(dir, database_url, &key_file, static_dir).await
    }

    /// `instances` hookhub sharing a fresh database on the PostgreSQL server
    /// of `postgres_url` (and one secret key), started one after the other.
    pub async fn start_on_postgres(
        postgres_url: &str,
        instances: usize,
    ) -> anyhow::Result<Vec<Self>> {
        let database_url = fresh_postgres_database(postgres_url).await?;
        let keys = tempfile::tempdir()?;
        let key_file = keys.path().join("secret.key");
        let mut servers = Vec::new();
        for _ in 0..instances {
            let dir = tempfile::tempdir()?;
            servers.push(Self::launch(dir, database_url.clone(), &key_file, None).await?);
        }
        // The key file was read at start.
        drop(keys);
        Ok(servers)
    }

    async fn launch(
        dir: tempfile::TempDir,
        database_url: String,
        key_file: &Path,
        static_dir: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut command = Command::new(hookhub_binary()?);
        command
            .arg("serve")
            .arg(format!("--listen=127.0.0.1:{port}"))
            .arg(format!("--database-url={database_url}"))
            .arg(format!("--secret-key-file={}", key_file.display()))
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
            database_url,
            _dir: dir,
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

    pub fn database_url(&self) -> &str {
        &self.database_url
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

/// Creates a database of its own on the server of `url`; returns its URL.
async fn fresh_postgres_database(url: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut server = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let name = format!("hookhub_bench_{}", nanos.as_nanos());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut server)
        .await
        .context("creating a database to measure on")?;
    let (server_url, _) = url.rsplit_once('/').context("a database URL")?;
    Ok(format!("{server_url}/{name}"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
