//! `/api/users`: administrators manage who may log in, and with which role.

use api::{Data, List, UserIn, UserOut, UserPatch};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::Json;
use super::paging::{PageQuery, created};
use super::params::{Path, Query};
use super::{Admin, AppState};
use crate::error::{AppError, FieldErrors, Result};
use crate::http::rules::password_problem;
use crate::model::Role;
use crate::security::hash_password;
use crate::store::{NewUser, User, UserDeletion};
use crate::time::rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

fn username_problem(username: &str) -> Option<&'static str> {
    let valid = (1..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    (!valid).then_some("1 to 64 letters, digits, ., _, - or @")
}

/// Argon2 is slow on purpose: off the async runtime.
async fn hash(password: String) -> Result<String> {
    Ok(
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(anyhow::Error::from)??,
    )
}

/// `POST /api/users`: 201; 409 if the username is taken.
#[utoipa::path(post, operation_id = "create_user", path = "/users", tag = "users", request_body = UserIn, responses((status = 201, description = "Created", body = Data<UserOut>)))]
async fn create(
    State(state): State<AppState>,
    Admin(_): Admin,
    Json(input): Json<UserIn>,
) -> Result<impl IntoResponse> {
    let mut errors = FieldErrors::new();
    if let Some(problem) = username_problem(&input.username) {
        errors.insert("username".into(), problem.into());
    }
    if let Some(problem) = password_problem(&input.password) {
        errors.insert("password".into(), problem);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let taken = || AppError::Taken {
        field: "username",
        message: format!("the username `{}` is taken", input.username),
    };
    // Asked first to spare a password hash; the insert decides.
    if state.store.username_taken(&input.username).await? {
        return Err(taken());
    }
    let password_hash = hash(input.password).await?;
    let id = state
        .store
        .create_user(NewUser {
            username: &input.username,
            password_hash: &password_hash,
            role: input.role.into(),
        })
        .await?
        .ok_or_else(taken)?;
    let user = state
        .store
        .user(&id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/users/{id}"))],
        Json(Data {
            data: user_out(user),
        }),
    ))
}

#[utoipa::path(get, operation_id = "list_users", path = "/users", tag = "users", params(PageQuery), responses((status = 200, description = "A page of users, oldest first", body = List<UserOut>)))]
async fn list(
    State(state): State<AppState>,
    Admin(_): Admin,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<UserOut>>> {
    let page = query.page(&state.cipher, "users")?;
    let users = state
        .store
        .users(page.after_created(), page.fetch())
        .await?;
    let (users, next_cursor) = page.finish(&state.cipher, users, |u| created(u.created_at, &u.id));
    Ok(Json(List {
        data: users.into_iter().map(user_out).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, operation_id = "get_user", path = "/users/{id}", tag = "users", params(("id" = String, Path, description = "The user")), responses((status = 200, description = "The user", body = Data<UserOut>)))]
async fn show(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<Json<Data<UserOut>>> {
    let user = state
        .store
        .user(&id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(Json(Data {
        data: user_out(user),
    }))
}

/// `PATCH /api/users/{id}`: role, active, password; 204. The last active
/// administrator can be neither demoted nor switched off, nor can the owner
/// of `--admin-token`, and nobody demotes or switches off themselves (409):
/// one click must not lock its maker, or the automation, out.
#[utoipa::path(patch, operation_id = "update_user", path = "/users/{id}", tag = "users", params(("id" = String, Path, description = "The user")), request_body = UserPatch, responses((status = 204, description = "Changed")))]
async fn update(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    Json(input): Json<UserPatch>,
) -> Result<StatusCode> {
    let user = state
        .store
        .user(&id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if let Some(problem) = input.password.as_deref().and_then(password_problem) {
        return Err(AppError::field("password", problem));
    }
    let loses_admin = input.role == Some(api::Role::Viewer) || input.active == Some(false);
    if loses_admin && caller.id == id {
        return Err(AppError::Conflict(YOURSELF.into()));
    }
    if loses_admin {
        refuse_admin_token_owner(&state, &id).await?;
    }
    if user.role == Role::Admin
        && user.active
        && loses_admin
        && state.store.other_active_admins(&id).await? == 0
    {
        return Err(AppError::Conflict(
            "hookhub needs at least one active administrator".into(),
        ));
    }
    let password_hash = match input.password {
        Some(password) => Some(hash(password).await?),
        None => None,
    };
    state
        .store
        .update_user(
            &id,
            input.role.map(Into::into),
            input.active,
            password_hash.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user who owns the configured `--admin-token` stays an active
/// administrator: the automation that uses the token would otherwise stop
/// working without a word to whoever runs it.
async fn refuse_admin_token_owner(state: &AppState, id: &str) -> Result<()> {
    let Some(token) = &state.config.admin_token else {
        return Ok(());
    };
    let owner = state.store.caller_for_token(token).await?;
    if owner.is_some_and(|owner| owner.id == id) {
        return Err(AppError::Conflict(
            "this administrator owns the configured --admin-token: give the token up in the configuration first".into(),
        ));
    }
    Ok(())
}

/// Why an administrator cannot demote, switch off or delete themselves.
const YOURSELF: &str =
    "you cannot demote, switch off or delete yourself: another administrator can";

/// `DELETE /api/users/{id}`: 204; 409 for the caller themselves, the last
/// active administrator, or a user who authored webhooks or triggers
/// (deactivate them instead).
#[utoipa::path(delete, operation_id = "delete_user", path = "/users/{id}", tag = "users", params(("id" = String, Path, description = "The user")), responses((status = 204, description = "Deleted")))]
async fn remove(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    if caller.id == id {
        return Err(AppError::Conflict(YOURSELF.into()));
    }
    refuse_admin_token_owner(&state, &id).await?;
    let user = state
        .store
        .user(&id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if user.role == Role::Admin && user.active && state.store.other_active_admins(&id).await? == 0 {
        return Err(AppError::Conflict(
            "hookhub needs at least one active administrator".into(),
        ));
    }
    match state.store.delete_user(&id).await? {
        UserDeletion::Deleted => Ok(StatusCode::NO_CONTENT),
        UserDeletion::Missing => Err(AppError::NotFound("user")),
        UserDeletion::Referenced => Err(AppError::Conflict(
            "this user authored webhooks or triggers: deactivate them instead".into(),
        )),
    }
}

fn user_out(user: User) -> UserOut {
    UserOut {
        id: user.id,
        username: user.username,
        role: user.role.into(),
        active: user.active,
        created_at: rfc3339(user.created_at),
    }
}
