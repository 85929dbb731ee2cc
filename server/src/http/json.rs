//! A JSON extractor whose every rejection is an [`AppError`], so that bad input
//! gets the API's one error shape: malformed JSON 400, wrong field types 422
//! naming the field, too large 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => {
                        AppError::PayloadTooLarge { limit: BODY_LIMIT }
                    }
                    _ => AppError::BadRequest(rejection.body_text()),
                })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|error| AppError::BadRequest(format!("malformed JSON: {error}")))?;
        from_value(value).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Reads a typed value out of JSON; a mismatch is a 422 naming the field's path.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        AppError::field(field, error.into_inner().to_string())
    })
}
