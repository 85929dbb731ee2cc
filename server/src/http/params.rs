//! Query-string and path extractors whose every rejection is an [`AppError`]
//! naming the parameter, so that `?limit=abc` gets the API's one error shape
//! (a 422 with `fields.limit`) like a bad body field, not axum's plain text.
//! A NUL character in any parameter is refused the same way, as in bodies.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use url::form_urlencoded;

use super::json::NUL;
use crate::error::AppError;

pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default().as_bytes();
        decoded_pairs(query)?;
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query));
        serde_path_to_error::deserialize(pairs)
            .map(Query)
            .map_err(|error| {
                let path = error.path().to_string();
                let message = error.into_inner().to_string();
                match message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.strip_suffix('`'))
                {
                    Some(name) => AppError::field(name, "is required"),
                    None => AppError::field(path, in_words(&message)),
                }
            })
    }
}

/// The name-value pairs of a query string or a form body, decoded; a NUL
/// character in a name or a value is a 422 naming it.
pub fn decoded_pairs(encoded: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    form_urlencoded::parse(encoded)
        .map(|(name, value)| {
            if name.contains('\0') || value.contains('\0') {
                return Err(AppError::field(name, NUL));
            }
            Ok((name.into_owned(), value.into_owned()))
        })
        .collect()
}

/// A query value's problem as the client should read it.
fn in_words(message: &str) -> String {
    if message.contains("invalid digit") || message.contains("cannot parse integer") {
        "must be a whole number".to_string()
    } else if message.contains("too large") || message.contains("too small") {
        "is out of range".to_string()
    } else {
        message.to_string()
    }
}

pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(params) = RawPathParams::from_request_parts(parts, state).await
            && let Some((name, _)) = params.iter().find(|(_, value)| value.contains('\0'))
        {
            return Err(AppError::field(name, NUL));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                Err(match error.into_kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        AppError::field(key, "is not valid UTF-8")
                    }
                    ErrorKind::ParseErrorAtKey {
                        key, expected_type, ..
                    } => AppError::field(key, format!("must be a {expected_type}")),
                    other => AppError::field("path", other.to_string()),
                })
            }
            // Routing's own mistakes, not the caller's.
            Err(other) => Err(AppError::Internal(anyhow::anyhow!("{}", other.body_text()))),
        }
    }
}
