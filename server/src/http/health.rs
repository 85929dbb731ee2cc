//! Whether the database can be reached: `GET /api/health` says so to load
//! balancers, and while it cannot, every route that needs it answers 503 at
//! once instead of each waiting for a connection that will not come.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use api::{Data, Health};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::json::Json;
use crate::error::{AppError, FoundDatabaseAway};
use crate::store::Store;

/// How long a look at the database is trusted: a balancer polling health
/// many times a second costs one round trip a second.
const CHECKED_FOR: Duration = Duration::from_secs(1);
/// How long a look may take before the database counts as away.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// `GET /api/health`: the one route that needs no token. 200 while the
/// database can be reached, 503 while it cannot.
#[utoipa::path(get, operation_id = "health", path = "/health", tag = "session", security(()), responses(
    (status = 200, description = "The server answers and reaches its database", body = Data<Health>),
    (status = 503, description = "The database cannot be reached", body = api::ErrorBody),
))]
async fn health(State(state): State<AppState>) -> Result<Json<Data<Health>>, AppError> {
    if !state.database.reachable(&state.store).await {
        return Err(AppError::DatabaseAway);
    }
    Ok(Json(Data {
        data: Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
    }))
}

/// What was last seen of the database, shared by every request.
pub struct Database {
    last: Mutex<Look>,
    /// `last.reachable`, read by every request without taking the lock.
    seen_reachable: AtomicBool,
    /// Held while looking, so that one request looks at a time and the
    /// others use what it saw.
    looking: tokio::sync::Mutex<()>,
}

#[derive(Clone, Copy)]
struct Look {
    at: Option<Instant>,
    reachable: bool,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            last: Mutex::new(Look {
                at: None,
                reachable: true,
            }),
            seen_reachable: AtomicBool::new(true),
            looking: tokio::sync::Mutex::new(()),
        }
    }
}

impl Database {
    /// Whether the database answers, looked at at most once a second.
    pub async fn reachable(&self, store: &Store) -> bool {
        let _turn = self.looking.lock().await;
        let last = self.last();
        if let Some(at) = last.at
            && at.elapsed() < CHECKED_FOR
        {
            return last.reachable;
        }
        let reachable = matches!(
            tokio::time::timeout(PING_TIMEOUT, store.ping()).await,
            Ok(Ok(()))
        );
        self.set(reachable);
        reachable
    }

    fn last(&self) -> Look {
        *self.last.lock().expect("database state")
    }

    fn set(&self, reachable: bool) {
        *self.last.lock().expect("database state") = Look {
            at: Some(Instant::now()),
            reachable,
        };
        self.seen_reachable.store(reachable, Ordering::Relaxed);
    }
}

/// Answers 503 at once while the database was last seen away and a fresh
/// look (`Database::reachable`, at most one a second) does not find it back;
/// marks it away when a request finds it so. Routes that need no database
/// (health, the OpenAPI document, the console's files) pass untouched.
pub async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let needs_database =
        (path.starts_with("/api/") && path != "/api/health" && path != "/api/openapi.json")
            || path.starts_with("/hooks/")
            || path == "/metrics";
    if !needs_database {
        return next.run(request).await;
    }
    if !state.database.seen_reachable.load(Ordering::Relaxed)
        && !state.database.reachable(&state.store).await
    {
        return AppError::DatabaseAway.into_response();
    }
    let response = next.run(request).await;
    if response.extensions().get::<FoundDatabaseAway>().is_some() {
        // As good as a look: the next second's requests need not wait to see it.
        state.database.set(false);
    }
    response
}
