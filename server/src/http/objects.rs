//! `/api/objects/{module}`: the built-in object store. Every change fires its event.

use api::{Data, List};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::Json;
use super::paging::PageQuery;
use super::params::{Path, Query};
use super::{Admin, AppState};
use crate::error::{AppError, Result};
use crate::events::{OPERATOR_MODULE, is_name_part};
use crate::http::rules::OPERATOR_MODULE_TAKEN;
use crate::store::{Caller, Updated};

type Object = Map<String, Value>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

fn check_module(module: &str) -> Result<()> {
    if module == OPERATOR_MODULE {
        Err(AppError::field("module", OPERATOR_MODULE_TAKEN))
    } else if is_name_part(module) {
        Ok(())
    } else {
        Err(AppError::field(
            "module",
            "must be lowercase letters, digits, _ and - (at most 64)",
        ))
    }
}

/// `POST /api/objects/{module}`: 201 with the object and its new `id`; fires `{module}.create`.
#[utoipa::path(post, operation_id = "create_object", path = "/objects/{module}", tag = "objects", params(("module" = String, Path, description = "The module, e.g. `ticket`")), request_body = Object, responses((status = 201, description = "Created; `{module}.create` fired", body = Data<Object>)))]
async fn create(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(module): Path<String>,
    Json(object): Json<Object>,
) -> Result<impl IntoResponse> {
    check_module(&module)?;
    if object.contains_key("id") {
        return Err(AppError::field("id", "is assigned by hookhub"));
    }
    let (object, accepted) = state.store.create_object(&module, object).await?;
    if accepted.deliveries > 0 {
        state.deliverer.wake();
    }
    let location = format!(
        "/api/objects/{module}/{}",
        object["id"].as_str().unwrap_or_default()
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Data { data: object }),
    ))
}

/// `GET /api/objects/{module}`: oldest first, `limit` (1–1000, default 100) per page.
#[utoipa::path(get, operation_id = "list_objects", path = "/objects/{module}", tag = "objects", params(("module" = String, Path, description = "The module"), PageQuery), responses((status = 200, description = "A page of objects, oldest first", body = List<Object>)))]
async fn list(
    State(state): State<AppState>,
    _: Caller,
    Path(module): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<Object>>> {
    check_module(&module)?;
    let page = query.page(&state.cipher, "objects")?;
    let objects = state
        .store
        .objects(&module, page.after.as_deref(), page.fetch())
        .await?;
    let (objects, next_cursor) = page.finish(&state.cipher, objects, |o| {
        o["id"].as_str().unwrap_or_default().to_owned()
    });
    Ok(Json(List {
        data: objects,
        next_cursor,
    }))
}

#[utoipa::path(get, operation_id = "get_object", path = "/objects/{module}/{id}", tag = "objects", params(("module" = String, Path, description = "The module"), ("id" = String, Path, description = "The object")), responses((status = 200, description = "The object", body = Data<Object>)))]
async fn show(
    State(state): State<AppState>,
    _: Caller,
    Path((module, id)): Path<(String, String)>,
) -> Result<Json<Data<Object>>> {
    check_module(&module)?;
    let object = state
        .store
        .object(&module, &id)
        .await?
        .ok_or(AppError::NotFound("object"))?;
    Ok(Json(Data { data: object }))
}

/// `PATCH /api/objects/{module}/{id}`: a JSON merge patch; 200 with the merged
/// object. Fires `{module}.update` with `changed_fields` and `previous`, unless nothing changed.
#[utoipa::path(patch, operation_id = "update_object", path = "/objects/{module}/{id}", tag = "objects", params(("module" = String, Path, description = "The module"), ("id" = String, Path, description = "The object")), request_body = Object, responses((status = 200, description = "The object changed; `{module}.update` fired", body = Data<Object>)))]
async fn update(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path((module, id)): Path<(String, String)>,
    Json(patch): Json<Object>,
) -> Result<Json<Data<Object>>> {
    check_module(&module)?;
    if patch
        .get("id")
        .is_some_and(|given| given.as_str() != Some(id.as_str()))
    {
        return Err(AppError::field("id", "cannot change"));
    }
    let object = match state.store.update_object(&module, &id, patch).await? {
        Updated::Missing => return Err(AppError::NotFound("object")),
        Updated::Unchanged(object) => object,
        Updated::Changed(object, accepted) => {
            if accepted.deliveries > 0 {
                state.deliverer.wake();
            }
            object
        }
    };
    Ok(Json(Data { data: object }))
}

/// `DELETE /api/objects/{module}/{id}`: 204; fires `{module}.delete` with the object as it was.
#[utoipa::path(delete, operation_id = "delete_object", path = "/objects/{module}/{id}", tag = "objects", params(("module" = String, Path, description = "The module"), ("id" = String, Path, description = "The object")), responses((status = 204, description = "Deleted; `{module}.delete` fired")))]
async fn remove(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path((module, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    check_module(&module)?;
    let accepted = state
        .store
        .delete_object(&module, &id)
        .await?
        .ok_or(AppError::NotFound("object"))?;
    if accepted.deliveries > 0 {
        state.deliverer.wake();
    }
    Ok(StatusCode::NO_CONTENT)
}
