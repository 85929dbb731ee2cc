use std::sync::LazyLock;
use std::time::Duration;

use api::{Data, LoginIn, Me, TokenOut};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::json::Json;
use super::throttle::{self, Key};
use crate::error::{AppError, Result, Scheme};
use crate::security::{TokenHash, hash_password, new_token, random_password, verify_password};
use crate::store::{Caller, TokenKind};
use crate::time::now_ms;

/// How long a console login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(me))
}

/// Verified against when the username is unknown, so that a wrong name takes
/// as long as a wrong password and timing does not reveal which users exist.
static DECOY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&random_password()).expect("hashing a random password"));

/// `POST /api/session`: a bearer token for a username and password. Failures
/// slow further attempts of that username from that address, and of that
/// address (see `throttle`): 429 with the wait; every attempt counts as
/// failed until its password proved right.
#[utoipa::path(post, operation_id = "login", path = "/session", tag = "session", request_body = LoginIn, security(()), responses((status = 200, description = "A session token, valid 7 days", body = Data<TokenOut>), (status = 401, description = "Wrong username or password", body = api::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    Json(input): Json<LoginIn>,
) -> Result<Json<Data<TokenOut>>> {
    let address = address.ip().to_string();
    let (pair, address) = (
        Key::login(&input.username, &address),
        Key::address(&address),
    );
    let keys = [pair.clone(), address.clone()];
    throttle::begin(&state.store, &keys)
        .await?
        .map_err(AppError::too_many)?;
    let details = state.store.login_details(&input.username).await?;
    let (user_id, hash) = match details {
        Some((id, hash)) => (Some(id), hash),
        None => (None, DECOY_HASH.clone()),
    };
    let Some(_turn) = state.password_checks.turn().await else {
        throttle::not_checked(&state.store, &keys).await?;
        return Err(AppError::too_many(Duration::from_secs(1)));
    };
    let password = input.password;
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(anyhow::Error::from)?;
    let Some(user_id) = user_id.filter(|_| verified) else {
        return Err(AppError::InvalidCredentials);
    };
    throttle::succeeded(&state.store, &[pair], &[address]).await?;
    let token = new_token();
    let expires_at = now_ms() + SESSION_LIFETIME.as_millis() as i64;
    state
        .store
        .insert_token(
            TokenHash::of(&token),
            &user_id,
            TokenKind::Session { expires_at },
        )
        .await?;
    Ok(Json(Data {
        data: TokenOut { token },
    }))
}

/// `DELETE /api/session`: the session used for this request stops working.
/// The `--admin-token` is configuration, not a session: 409, and it keeps working.
#[utoipa::path(delete, operation_id = "logout", path = "/session", tag = "session", responses((status = 204, description = "The token is revoked")))]
async fn logout(
    State(state): State<AppState>,
    _: Caller,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let token =
        super::auth::bearer_token(&headers).ok_or(AppError::Unauthorized(Scheme::Bearer))?;
    if !state.store.revoke_token(token).await? {
        return Err(AppError::Conflict(
            "this is the configured --admin-token, not a session: remove it from the configuration to revoke it".into(),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/me`: the caller.
#[utoipa::path(get, operation_id = "get_me", path = "/me", tag = "session", responses((status = 200, description = "Who the token belongs to", body = Data<Me>)))]
async fn me(caller: Caller) -> Json<Data<Me>> {
    Json(Data {
        data: Me {
            id: caller.id,
            username: caller.username,
            role: caller.role.into(),
        },
    })
}
