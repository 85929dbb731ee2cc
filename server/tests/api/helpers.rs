use std::path::PathBuf;

use clap::Parser;
use hookhub::Config;
use hookhub::logs::LogFormat;
use reqwest::{Method, Response};
use serde_json::Value;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// The database the suite runs on: SQLite unless `HOOKHUB_TEST_BACKEND` is
/// `postgres` (then a database of its own per app, on the cluster at
/// `HOOKHUB_TEST_POSTGRES_URL`, which `scripts/postgres` starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("HOOKHUB_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("HOOKHUB_TEST_BACKEND is `{other}`: sqlite or postgres"),
    }
}

/// The URL of the throwaway cluster's `hookhub` database.
pub fn postgres_url() -> String {
    std::env::var("HOOKHUB_TEST_POSTGRES_URL")
        .expect("HOOKHUB_TEST_POSTGRES_URL is not set: start a cluster with scripts/postgres")
}

/// For a test that needs PostgreSQL whatever the suite's backend: a new
/// database's URL, or `None` (skipped, said on stderr) when no cluster was
/// started, which the test command forbids (`HOOKHUB_REQUIRE_POSTGRES`).
pub async fn postgres_database_if_any() -> Option<String> {
    if std::env::var_os("HOOKHUB_TEST_POSTGRES_URL").is_none() {
        assert!(
            std::env::var_os("HOOKHUB_REQUIRE_POSTGRES").is_none(),
            "HOOKHUB_TEST_POSTGRES_URL is not set: start a cluster with scripts/postgres"
        );
        eprintln!("skipped: no PostgreSQL (scripts/test starts one; see scripts/postgres)");
        return None;
    }
    Some(new_postgres_database().await)
}

/// A new, empty database on the throwaway cluster; returns its URL.
pub async fn new_postgres_database() -> String {
    use sqlx::Connection;
    let url = postgres_url();
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let name = format!("test_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    format!("{}/{name}", url.rsplit_once('/').unwrap().0)
}

/// A fresh database for the suite's backend, a SQLite one in `dir`.
pub async fn new_database(dir: &std::path::Path) -> String {
    match backend() {
        Backend::Sqlite => format!("sqlite://{}/hookhub.db", dir.display()),
        Backend::Postgres => new_postgres_database().await,
    }
}

/// A PostgreSQL database an app made for itself, dropped once the last app
/// on it is: a hundred and fifty left behind fill two gigabytes of the disk.
struct OwnedDatabase(String);

impl Drop for OwnedDatabase {
    fn drop(&mut self) {
        // Dropped on a thread of its own, so that no test waits for it (the
        // last few of a run stay, with the throwaway cluster).
        static DROPPER: std::sync::OnceLock<std::sync::mpsc::Sender<String>> =
            std::sync::OnceLock::new();
        let dropper = DROPPER.get_or_init(|| {
            let (send, names) = std::sync::mpsc::channel::<String>();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                for name in names {
                    let dropped = runtime.block_on(async {
                        use sqlx::Connection;
                        let mut admin = sqlx::PgConnection::connect(&postgres_url()).await?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await
                    });
                    if let Err(error) = dropped {
                        eprintln!("test database {name} was left behind: {error}");
                    }
                }
            });
            send
        });
        let name = self.0.rsplit_once('/').unwrap().1;
        let _ = dropper.send(name.to_string());
    }
}

/// A hookhub running on its own port with its own database. Dropped, it
/// shuts down (as on SIGTERM).
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    database: Option<std::sync::Arc<OwnedDatabase>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts hookhub on 127.0.0.1:0 with a fresh database and extra flags.
pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database_url = new_database(dir.path()).await;
    let database = (backend() == Backend::Postgres)
        .then(|| std::sync::Arc::new(OwnedDatabase(database_url.clone())));
    spawn_in(dir, database_url, database, extra).await
}

/// Starts hookhub on the database at `database_url` (a new one made by the caller).
pub async fn spawn_on(database_url: String) -> TestApp {
    spawn_in(tempfile::tempdir().unwrap(), database_url, None, &[]).await
}

/// Another instance beside `app`, on its database with its key, as several
/// instances share one PostgreSQL database.
pub async fn beside(app: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let key = |dir: &std::path::Path| dir.join("secret.key");
    std::fs::copy(key(app.dir.path()), key(dir.path())).unwrap();
    spawn_in(dir, app.database_url.clone(), app.database.clone(), &[]).await
}

/// A second hookhub on the same database and key, as after a restart.
pub async fn restart(app: TestApp) -> TestApp {
    restart_with(app, &[]).await
}

/// `restart` with extra flags: the first instance stops before the second
/// starts, as one process owns a SQLite database.
pub async fn restart_with(app: TestApp, extra: &[&str]) -> TestApp {
    let TestApp {
        dir,
        database_url,
        database,
        stop,
        server,
        ..
    } = app;
    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(40), server)
        .await
        .expect("hookhub did not stop")
        .unwrap()
        .unwrap();
    spawn_in(dir, database_url, database, extra).await
}

/// Where the suite's log lines go when `HOOKHUB_TEST_LOGS` names a directory
/// (the test command sets it, then searches them for secrets with
/// `scripts/secrets-in-logs`): a file per test process, `name-<pid>.<ext>`.
pub fn log_file(name: &str) -> Option<std::fs::File> {
    let dir = std::env::var_os("HOOKHUB_TEST_LOGS")?;
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = PathBuf::from(dir).join(format!("{name}-{}-{n}.log", std::process::id()));
    Some(std::fs::File::create(path).unwrap())
}

/// The test apps' log lines, JSON at debug level, into `log_file`.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Some(file) = log_file("api") {
            let filter = tracing_subscriber::EnvFilter::new("info,hookhub=debug");
            hookhub::logs::install(LogFormat::Json, filter, std::sync::Mutex::new(file)).unwrap();
        }
    });
}

async fn spawn_in(
    dir: tempfile::TempDir,
    database_url: String,
    database: Option<std::sync::Arc<OwnedDatabase>>,
    extra: &[&str],
) -> TestApp {
    capture_logs();
    let root = dir.path().display().to_string();
    let mut args = vec![
        "hookhub".to_string(),
        format!("--database-url={database_url}"),
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
                database_url,
                database,
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

/// `$body` with `$db` a connection to `$app`'s database, whichever it is.
macro_rules! on_database {
    ($app:expr, |$db:ident| $body:expr) => {{
        use sqlx::Connection;
        match backend() {
            Backend::Sqlite => {
                let mut $db = sqlx::SqliteConnection::connect(&$app.database_url)
                    .await
                    .unwrap();
                $body
            }
            Backend::Postgres => {
                let mut $db = sqlx::PgConnection::connect(&$app.database_url)
                    .await
                    .unwrap();
                $body
            }
        }
    }};
}

impl TestApp {
    /// The SQLite database's files (its log included); none on PostgreSQL.
    pub fn database_files(&self) -> Vec<PathBuf> {
        if backend() == Backend::Postgres {
            return Vec::new();
        }
        ["hookhub.db", "hookhub.db-wal"]
            .iter()
            .map(|name| self.dir.path().join(name))
            .filter(|path| path.exists())
            .collect()
    }

    /// Panics if the database holds `text`: on SQLite anywhere in its files
    /// (its log included, freed pages too), on PostgreSQL in any row of any
    /// table, binary columns read as text too.
    pub async fn assert_not_stored(&self, text: &str) {
        match backend() {
            Backend::Sqlite => {
                for file in self.database_files() {
                    let bytes = std::fs::read(&file).unwrap();
                    assert!(
                        !bytes.windows(text.len()).any(|w| w == text.as_bytes()),
                        "{} holds {text}",
                        file.display()
                    );
                }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let mut db = sqlx::PgConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
                )
                .fetch_all(&mut db)
                .await
                .unwrap();
                assert!(tables.iter().any(|table| table == "webhooks"));
                let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
                for table in tables {
                    let found: i64 = sqlx::query_scalar(&format!(
                        "SELECT count(*) FROM {table} t
                         WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0"
                    ))
                    .bind(text)
                    .bind(&hex)
                    .fetch_one(&mut db)
                    .await
                    .unwrap();
                    assert_eq!(found, 0, "{table} holds {text}");
                }
            }
        }
    }

    /// Runs one statement on the app's database, `$1`, `$2`, ... bound to
    /// `values` in order (SQLite reads them as its own numbered parameters).
    pub async fn execute(&self, statement: &str, values: &[&str]) {
        on_database!(self, |db| {
            let mut query = sqlx::query(statement);
            for value in values {
                query = query.bind(*value);
            }
            query.execute(&mut db).await.unwrap();
        })
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

    /// `GET path` as the administrator: the answer's JSON, whatever its status.
    pub async fn admin_json(&self, path: &str) -> Value {
        self.admin(Method::GET, path, None)
            .await
            .json()
            .await
            .unwrap()
    }

    /// Creates a webhook and returns its representation.
    pub async fn create_webhook(&self, body: Value) -> Value {
        let response = self.admin(Method::POST, "/api/webhooks", Some(body)).await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json::<Value>().await.unwrap()["data"].clone()
    }

    /// Creates a webhook and returns its id.
    pub async fn create_webhook_id(&self, body: Value) -> String {
        let webhook = self.create_webhook(body).await;
        webhook["id"].as_str().unwrap().to_string()
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

    /// Waits until no delivery is pending or retrying and no fan-out waits:
    /// every attempt made is recorded (a send is recorded after it is made),
    /// so nothing more goes out until something new is published.
    pub async fn settled(&self) {
        wait_until(
            "every delivery settled",
            std::time::Duration::from_secs(30),
            async || {
                let open = self
                    .count(
                        "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'retrying')",
                    )
                    .await;
                open == 0 && self.count("SELECT COUNT(*) FROM fanouts").await == 0
            },
        )
        .await;
    }

    /// The one number `statement` answers on the app's database.
    pub async fn count(&self, statement: &str) -> i64 {
        on_database!(self, |db| sqlx::query_scalar(statement)
            .fetch_one(&mut db)
            .await
            .unwrap())
    }

    /// A new viewer's session token.
    pub async fn viewer_token(&self, username: &str) -> String {
        let user = serde_json::json!({"username": username, "password": "long-enough-pw", "role": "viewer"});
        let created = self.admin(Method::POST, "/api/users", Some(user)).await;
        assert_eq!(created.status(), 201);
        let login = serde_json::json!({"username": username, "password": "long-enough-pw"});
        let session = self
            .request(Method::POST, "/api/session", None, Some(login))
            .await;
        assert_eq!(session.status(), 200);
        session.json::<Value>().await.unwrap()["data"]["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn webhook_count(&self) -> usize {
        let response = self.admin(Method::GET, "/api/webhooks", None).await;
        let body: Value = response.json().await.unwrap();
        body["data"].as_array().unwrap().len()
    }
}

/// Waits until `found` gives something, looking every 50 ms, and returns
/// it; panics after `within`, naming `what` it waited for.
pub async fn wait_for<T>(
    what: &str,
    within: std::time::Duration,
    mut found: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(found) = found().await {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits until `done` says so (see `wait_for`).
pub async fn wait_until(
    what: &str,
    within: std::time::Duration,
    mut done: impl AsyncFnMut() -> bool,
) {
    wait_for(what, within, async || done().await.then_some(())).await
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
