//! One error type for every handler, answered as `{"error": {code, message, fields}}`.

use std::collections::BTreeMap;

use api::{ErrorBody, ErrorDetail};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Field name to what is wrong with it.
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or wrong ones, of the scheme the route takes.
    #[error("missing or invalid {}", .0.credentials())]
    Unauthorized(Scheme),
    #[error("wrong username or password")]
    InvalidCredentials,
    /// A signed trigger call whose signature does not hold, and why.
    #[error("invalid signature: {0}")]
    BadSignature(String),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// A value that must be unique is taken: a 409 naming the field.
    #[error("{message}")]
    Taken {
        field: &'static str,
        message: String,
    },
    #[error("the request body stopped arriving")]
    RequestTimeout,
    #[error("request body is larger than {} MiB", limit / (1024 * 1024))]
    PayloadTooLarge { limit: usize },
    #[error("too many failed attempts: try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error("{}", validation_message(.0))]
    Validation(FieldErrors),
    /// The database cannot be reached: a 503 with `Retry-After`, so that
    /// callers and balancers come back instead of giving up.
    #[error("the database cannot be reached: try again shortly")]
    DatabaseAway,
    /// The request bodies in flight fill the server's budget: a 503 with
    /// `Retry-After`, sent after the body was read and dropped.
    #[error("the server is at its limit for request bodies in flight: try again shortly")]
    Busy,
    /// Details go to the log, never to the client.
    #[error("internal error")]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        if crate::store::database_away(&error) {
            tracing::warn!(error = format!("{error:#}"), "the database is away");
            return Self::DatabaseAway;
        }
        Self::Internal(error)
    }
}

/// Seconds a 503 asks the caller to wait while the database is away.
pub const DATABASE_RETRY_AFTER: u64 = 2;

/// Marks a response that found the database away, for `http::health::gate`.
#[derive(Debug, Clone, Copy)]
pub struct FoundDatabaseAway;

fn validation_message(fields: &FieldErrors) -> String {
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    format!("invalid fields: {}", names.join(", "))
}

impl AppError {
    /// A 429 that says to come back after `wait` (at least a second).
    pub fn too_many(wait: std::time::Duration) -> Self {
        Self::TooManyRequests {
            retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    /// One invalid field.
    pub fn field(name: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(name.into(), problem.into())]))
    }

    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::BadSignature(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) | Self::Taken { .. } => (StatusCode::CONFLICT, "conflict"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::DatabaseAway => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, "server_busy"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// How a route wants its caller to prove who it is (`Authorization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Basic,
}

impl Scheme {
    fn credentials(self) -> &'static str {
        match self {
            Self::Bearer => "bearer token",
            Self::Basic => "basic credentials",
        }
    }

    /// The `WWW-Authenticate` challenge of a 401.
    fn challenge(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::Basic => r#"Basic realm="hookhub", charset="UTF-8""#,
        }
    }
}

impl AppError {
    /// Why a request body could not be read: too large, stopped arriving, or broken.
    pub fn from_body(rejection: axum::extract::rejection::BytesRejection, limit: usize) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge { limit };
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
        while let Some(error) = source {
            if error.is::<tower_http::timeout::TimeoutError>() {
                return Self::RequestTimeout;
            }
            source = error.source();
        }
        Self::BadRequest(rejection.body_text())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(error) = &self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let (status, code) = self.status_and_code();
        // What a 401 asks the caller for: a wrong login still asks for the
        // bearer token that a login gives.
        let challenge = match &self {
            Self::Unauthorized(scheme) => Some(scheme.challenge()),
            Self::InvalidCredentials => Some(Scheme::Bearer.challenge()),
            _ => None,
        };
        let retry_after = match &self {
            Self::TooManyRequests { retry_after } => Some(*retry_after),
            Self::DatabaseAway => Some(DATABASE_RETRY_AFTER),
            Self::Busy => Some(1),
            _ => None,
        };
        let away = matches!(self, Self::DatabaseAway);
        let message = self.to_string();
        let fields = match self {
            Self::Validation(fields) => fields,
            Self::Taken { field, message } => FieldErrors::from([(field.to_string(), message)]),
            _ => FieldErrors::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                fields,
            },
        };
        let mut response = (status, Json(body)).into_response();
        // An error is for this request alone (some, such as a 404, a cache
        // would otherwise keep).
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if away {
            response.extensions_mut().insert(FoundDatabaseAway);
        }
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
