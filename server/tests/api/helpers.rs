use std::path::PathBuf;

use clap::Parser;
use hookhub::Config;
use reqwest::{Method, Response};
use serde_json::Value;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// A hookhub running on its own port with its own SQLite file. Dropped, it
/// shuts down (as on SIGTERM).
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts hookhub on 127.0.0.1:0 with a fresh database and extra flags.
pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    spawn_in(tempfile::tempdir().unwrap(), extra).await
}

/// A second hookhub on the same database and key, as after a restart.
pub async fn restart(app: TestApp) -> TestApp {
    restart_with(app, &[]).await
}

/// `restart` with extra flags: the first instance stops before the second
/// starts, as one process owns a SQLite database.
pub async fn restart_with(app: TestApp, extra: &[&str]) -> TestApp {
    let TestApp {
        dir, stop, server, ..
    } = app;
    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(40), server)
        .await
        .expect("hookhub did not stop")
        .unwrap()
        .unwrap();
    spawn_in(dir, extra).await
}

async fn spawn_in(dir: tempfile::TempDir, extra: &[&str]) -> TestApp {
    let root = dir.path().display().to_string();
    let mut args = vec![
        "hookhub".to_string(),
        format!("--database-url=sqlite://{root}/hookhub.db"),
        format!("--secret-key-file={root}/secret.key"),
        format!("--static-dir={root}/dist"),
        format!("--admin-token={ADMIN_TOKEN}"),
        format!("--admin-password={ADMIN_PASSWORD}"),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let config = Config::parse_from(args);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        // A stop, or the TestApp dropped.
        let _ = stopped.await;
    };
    let server = tokio::spawn(hookhub::run(config, listener, shutdown));
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{address}/api/health"))
            .send()
            .await
            .is_ok()
        {
            return TestApp {
                address,
                client,
                dir,
                stop,
                server,
            };
        }
        if server.is_finished() {
            panic!("hookhub stopped at start: {:?}", server.await);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("hookhub did not start");
}

impl TestApp {
    pub fn database_files(&self) -> Vec<PathBuf> {
        ["hookhub.db", "hookhub.db-wal"]
            .iter()
            .map(|name| self.dir.path().join(name))
            .filter(|path| path.exists())
            .collect()
    }

    /// Panics if the database's files (its log included) hold `text`.
    pub fn assert_not_stored(&self, text: &str) {
        for file in self.database_files() {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(text.len()).any(|w| w == text.as_bytes()),
                "{} holds {text}",
                file.display()
            );
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request as the administrator.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.request(method, path, Some(ADMIN_TOKEN), body).await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Creates a webhook and returns its representation.
    pub async fn create_webhook(&self, body: Value) -> Value {
        let response = self.admin(Method::POST, "/api/webhooks", Some(body)).await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json::<Value>().await.unwrap()["data"].clone()
    }

    pub async fn webhook(&self, id: &str) -> Value {
        let response = self
            .admin(Method::GET, &format!("/api/webhooks/{id}"), None)
            .await;
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["data"].clone()
    }

    /// The webhook's `whsec_` signing secret.
    pub async fn secret(&self, id: &str) -> String {
        let response = self
            .admin(Method::GET, &format!("/api/webhooks/{id}/secret"), None)
            .await;
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["data"]["secret"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Rotates the signing secret; returns the new one.
    pub async fn rotate_secret(&self, id: &str) -> String {
        let path = format!("/api/webhooks/{id}/secret/rotate");
        let response = self.admin(Method::POST, &path, None).await;
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["data"]["secret"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Publishes one event; returns the answer's `data`.
    pub async fn publish(&self, event_type: &str, data: Value) -> Value {
        let body = serde_json::json!({"type": event_type, "data": data});
        let response = self.admin(Method::POST, "/api/events", Some(body)).await;
        assert_eq!(response.status(), 202, "{:?}", response.text().await);
        response.json::<Value>().await.unwrap()["data"].clone()
    }

    pub async fn webhook_count(&self) -> usize {
        let response = self.admin(Method::GET, "/api/webhooks", None).await;
        let body: Value = response.json().await.unwrap();
        body["data"].as_array().unwrap().len()
    }
}

/// The `data.id` of a 201.
pub async fn created_id(response: Response) -> String {
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Asserts the API's error shape and returns its `error` object.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(error["fields"].is_object());
    error
}
