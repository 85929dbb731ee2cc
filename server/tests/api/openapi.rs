//! `GET /api/openapi.json`: an OpenAPI 3.1 document of every route, made
//! from the code. (The test command also checks it with
//! `openapi-spec-validator` and fuzzes the API against it with schemathesis.)

use std::path::Path;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

async fn document(app: &TestApp) -> Value {
    let response = app
        .request(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(response.status(), 200, "served without a token");
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// `(method, path)` of every operation in the document.
fn operations(document: &Value) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

/// `/api/webhooks/{id}` → `/api/webhooks/x`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| if part.starts_with('{') { "x" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_documented_operation_is_served_and_every_route_is_documented() {
    let app = spawn_app().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let operations = operations(&document);
    assert!(operations.len() >= 40, "{operations:?}");

    // Each answers as a route (401 without a token, or a public route's
    // answer), never the router's 404 or 405.
    for (method, path) in &operations {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .request(method.clone(), &concrete(path), None, None)
            .await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !(status == 404 && body.contains("route not found")),
            "{method} {path} is documented but not routed"
        );
    }

    // Routes are registered through `routes!`, which documents them; the
    // few registered by hand must be in the document too.
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut by_hand = Vec::new();
    for file in source_files(&http) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(\"") {
            let rest = &text[at + ".route(\"".len()..];
            by_hand.push(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    by_hand.sort();
    assert_eq!(by_hand, ["/hooks/{slug}", "/metrics"]);
    for path in by_hand {
        assert!(
            document["paths"][&path].is_object(),
            "{path} is not documented"
        );
    }
}

fn source_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(source_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn the_document_gives_the_bearer_scheme_the_error_shape_and_the_api_types() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let public = [
        ("GET", "/api/health"),
        ("POST", "/api/session"),
        ("GET", "/api/openapi.json"),
        ("GET", "/hooks/{slug}"),
        ("POST", "/hooks/{slug}"),
    ];
    for (method, path) in operations(&document) {
        let operation = &document["paths"][&path][method.to_lowercase()];
        assert!(operation["operationId"].is_string(), "{method} {path}");
        let needs_token = operation["security"]
            .as_array()
            .unwrap()
            .iter()
            .any(|requirement| requirement.get("bearer").is_some());
        let is_public = public.contains(&(method.as_str(), path.as_str()));
        assert_eq!(needs_token, !is_public, "{method} {path}");
        if needs_token {
            let unauthorized = &operation["responses"]["401"]["content"]["application/json"];
            assert_eq!(
                unauthorized["schema"]["$ref"], "#/components/schemas/ErrorBody",
                "{method} {path}"
            );
        }
    }
    let error = &document["components"]["schemas"]["ErrorDetail"]["properties"];
    for field in ["code", "message", "fields"] {
        assert!(error[field].is_object(), "ErrorDetail.{field}");
    }

    // The schemas are the api crate's types: a webhook as the API shows it
    // has exactly the documented fields.
    let webhook = app
        .create_webhook(
            serde_json::json!({"name": "doc", "url": "https://example.com/hook", "events": ["*"]}),
        )
        .await;
    let shown: Vec<&String> = webhook.as_object().unwrap().keys().collect();
    let documented: Vec<&String> = document["components"]["schemas"]["WebhookOut"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(shown, documented);
    // Creating takes the writable fields with `name` and `url` required;
    // a change takes any subset of them.
    let body = |method: &str| {
        document["paths"]["/api/webhooks"][method]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"]
            .clone()
    };
    assert_eq!(body("post"), "#/components/schemas/WebhookCreate");
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["WebhookCreate"]["required"],
        serde_json::json!(["name", "url"])
    );
    let writable = |schema: &str| -> Vec<String> {
        schemas[schema]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(writable("WebhookCreate"), writable("WebhookIn"));
    let change = &document["paths"]["/api/webhooks/{id}"]["patch"]["requestBody"];
    assert_eq!(
        change["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/WebhookIn"
    );
}

#[tokio::test]
async fn hookhub_openapi_prints_the_served_document() {
    let app = spawn_app().await;
    let served = document(&app).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hookhub"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, served);
}
