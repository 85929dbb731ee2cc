//! Who is calling: the bearer token on every route but health.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use crate::error::{AppError, Scheme};
use crate::store::Caller;

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(&parts.headers).ok_or(AppError::Unauthorized(Scheme::Bearer))?;
        state
            .store
            .caller_for_token(token)
            .await?
            .ok_or(AppError::Unauthorized(Scheme::Bearer))
    }
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    authorization(headers, "Bearer")
}

/// What follows `scheme` in the `Authorization` header; the scheme's case
/// does not matter (RFC 9110: `bearer x` is `Bearer x`).
pub fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (given, credentials) = value.trim_start().split_once(' ')?;
    let credentials = credentials.trim();
    (given.eq_ignore_ascii_case(scheme) && !credentials.is_empty()).then_some(credentials)
}

/// A caller with the administrator role; anyone else gets 403.
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.is_admin() {
            return Err(AppError::Forbidden("only administrators may do this"));
        }
        Ok(Admin(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        HeaderMap::from_iter([(AUTHORIZATION, value.parse().unwrap())])
    }

    #[test]
    fn the_scheme_is_matched_in_any_case() {
        assert_eq!(authorization(&with("Bearer t"), "Bearer"), Some("t"));
        assert_eq!(authorization(&with("bearer t "), "Bearer"), Some("t"));
        assert_eq!(authorization(&with("BASIC dTpw"), "Basic"), Some("dTpw"));
        assert_eq!(authorization(&with("Basic dTpw"), "Bearer"), None);
        assert_eq!(authorization(&with("Bearert"), "Bearer"), None);
        assert_eq!(authorization(&with("Bearer "), "Bearer"), None);
    }
}
