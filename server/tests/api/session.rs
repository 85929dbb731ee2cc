use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, assert_error, spawn_app};

#[tokio::test]
async fn health_answers_without_a_token() {
    let app = spawn_app().await;
    let response = app.request(Method::GET, "/api/health", None, None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["status"], "ok");
}

#[tokio::test]
async fn every_other_route_needs_a_valid_token() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/api/webhooks"),
        (Method::POST, "/api/webhooks"),
        (Method::GET, "/api/webhooks/wh_x"),
        (Method::PATCH, "/api/webhooks/wh_x"),
        (Method::DELETE, "/api/webhooks/wh_x"),
        (Method::GET, "/api/webhooks/wh_x/secret"),
        (Method::POST, "/api/webhooks/wh_x/secret/rotate"),
        (Method::GET, "/api/me"),
    ] {
        let none = app.request(method.clone(), path, None, None).await;
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        assert_error(none, 401, "unauthorized").await;
        let wrong = app
            .request(method, path, Some("hh_not-a-token"), None)
            .await;
        assert_error(wrong, 401, "unauthorized").await;
    }
}

#[tokio::test]
async fn the_admin_logs_in_and_the_token_works() {
    let app = spawn_app().await;
    let response = app
        .request(
            Method::POST,
            "/api/session",
            None,
            Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let token = body["data"]["token"].as_str().unwrap();
    let me = app.request(Method::GET, "/api/me", Some(token), None).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["data"]["username"], "admin");
    assert_eq!(me["data"]["role"], "admin");
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_cannot_log_in() {
    let app = spawn_app().await;
    for (username, password) in [("admin", "wrong"), ("nobody", ADMIN_PASSWORD)] {
        let response = app
            .request(
                Method::POST,
                "/api/session",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_error(response, 401, "invalid_credentials").await;
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let app = spawn_app().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = app
            .client
            .get(app.url("/api/me"))
            .header(
                "authorization",
                format!("{scheme} {}", crate::helpers::ADMIN_TOKEN),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn logging_out_with_the_configured_admin_token_is_refused_and_it_keeps_working() {
    let app = spawn_app().await;
    let logout = app.admin(Method::DELETE, "/api/session", None).await;
    assert_error(logout, 409, "conflict").await;
    assert_eq!(app.admin(Method::GET, "/api/me", None).await.status(), 200);
}
