//! `GET /api/openapi.json`: the API described by its own code. Every route
//! is registered through `utoipa_axum::routes!`, which takes its path and
//! methods from the handler's `#[utoipa::path]`, so that the router and the
//! document are made from one declaration; request and response schemas are
//! the `api` crate's types, which the console's client uses too.
//!
//! What every operation shares is added here rather than repeated on each:
//! the bearer scheme, and the error answers its shape can give.

use std::sync::Arc;

use api::ErrorBody;
use axum::Extension;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};

mod rules;

pub use rules::refine;

const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookhub",
        description = "A self-hosted webhook hub: webhooks, their deliveries and logs, \
                       inbound triggers, users. Every route but the public ones \
                       (health, login, this document, trigger URLs) takes \
                       `Authorization: Bearer <token>`: a session token from \
                       `POST /api/session` or an API token. Errors are \
                       `{\"error\": {\"code\", \"message\", \"fields\"}}`."
    ),
    paths(super::hooks::call),
    components(schemas(ErrorBody)),
    tags(
        (name = "webhooks", description = "Where events go (administrators)"),
        (name = "events", description = "Publishing events"),
        (name = "objects", description = "The built-in object store; changes fire events"),
        (name = "deliveries", description = "View Logs: deliveries and their attempts"),
        (name = "triggers", description = "Inbound URLs that start a fan-out"),
        (name = "users", description = "Accounts (administrators)"),
        (name = "session", description = "Logging in, and who is calling"),
        (name = "operations", description = "Health, metrics, this document"),
    )
)]
struct Base;

/// The document's frame (information, tags, the public routes outside the
/// routers); `finish` completes it once the routers' paths are in.
pub fn base() -> Document {
    Base::openapi()
}

/// The error answers an operation can give, by what it takes: a token,
/// path parameters, a body, a query.
fn error_statuses(method: &str, operation: &Operation) -> Vec<(&'static str, &'static str)> {
    let has_body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_none_or(|requirements| {
        requirements
            .iter()
            .any(|r| *r != SecurityRequirement::default())
    });
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let in_path = parameters
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    let mut statuses = Vec::new();
    if has_body {
        statuses.push(("400", "The body is not JSON, or not UTF-8"));
    }
    if secured {
        statuses.push(("401", "No token, or a token that is not valid"));
        statuses.push(("403", "The caller's role may not do this"));
    }
    if in_path {
        statuses.push(("404", "No such resource"));
    }
    if has_body {
        statuses.push(("408", "The body stopped arriving"));
    }
    if method != "get" {
        statuses.push(("409", "It conflicts with what is stored"));
    }
    if has_body {
        statuses.push(("413", "The body is over the limit"));
    }
    if has_body || !parameters.is_empty() {
        statuses.push((
            "422",
            "A value is not valid; `fields` names each and says why",
        ));
    }
    statuses.push((
        "429",
        "Too many requests; `Retry-After` says when to come back",
    ));
    statuses.push(("500", "Something failed on the server"));
    if operation.operation_id.as_deref() != Some("openapi_document") {
        statuses.push((
            "503",
            "The database cannot be reached; `Retry-After` says when to try again",
        ));
    }
    statuses
}

/// Adds the bearer scheme (on every operation that does not say it is
/// public) and the error answers.
pub fn finish(document: &mut Document) {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A session token or an API token"))
                .build(),
        ),
    );
    let error = RefOr::T(
        ResponseBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    );
    // One handler may answer several methods (a trigger's URL): its id is
    // then told apart by method, as ids must be unique.
    let mut uses = std::collections::HashMap::<String, usize>::new();
    for (_, operation) in document.paths.paths.values_mut().flat_map(operations) {
        *uses
            .entry(operation.operation_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    for item in document.paths.paths.values_mut() {
        for (method, operation) in operations(item) {
            if let Some(id) = &mut operation.operation_id
                && uses[id.as_str()] > 1
            {
                *id = format!("{id}_{method}");
            }
            if operation.security.is_none() {
                operation.security =
                    Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
            }
            for (status, description) in error_statuses(method, operation) {
                let mut answer = error.clone();
                if let RefOr::T(response) = &mut answer {
                    response.description = description.to_string();
                }
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert(answer);
            }
        }
    }
}

/// A path's operations with their methods, lowercase.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("post", &mut item.post),
        ("put", &mut item.put),
        ("patch", &mut item.patch),
        ("delete", &mut item.delete),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation.as_mut()?)))
}

/// The finished document's text, given to `document` as a request extension.
#[derive(Clone)]
pub struct Text(pub Arc<str>);

/// `GET /api/openapi.json`: no token, like health: it holds no data.
#[utoipa::path(
    get, operation_id = "openapi_document",
    path = "/openapi.json",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json"))
)]
pub async fn document(Extension(Text(text)): Extension<Text>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], text.to_string())
}
