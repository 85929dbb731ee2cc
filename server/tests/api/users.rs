use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, assert_error, spawn_app};

async fn create_user(app: &TestApp, username: &str, role: &str) -> String {
    let body = json!({"username": username, "password": "long-enough-pw", "role": role});
    let response = app.admin(Method::POST, "/api/users", Some(body)).await;
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.request(
        Method::POST,
        "/api/session",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

async fn token_for(app: &TestApp, username: &str) -> String {
    let response = login(app, username, "long-enough-pw").await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["data"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `GET path` with `token`, as a user's client would send it.
async fn get_as(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.request(Method::GET, path, Some(token), None).await
}

/// `token` no longer gets in.
async fn assert_refused(app: &TestApp, token: &str) {
    assert_error(get_as(app, token, "/api/me").await, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_viewer_reads_logs_but_every_other_route_answers_403() {
    let app = spawn_app().await;
    create_user(&app, "vera", "viewer").await;
    let token = token_for(&app, "vera").await;
    let me: Value = app
        .request(Method::GET, "/api/me", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"]["role"], "viewer");
    for path in [
        "/api/deliveries",
        "/api/deliveries/stats",
        "/api/deliveries/webhooks",
        "/api/objects/ticket",
    ] {
        assert_eq!(
            app.request(Method::GET, path, Some(&token), None)
                .await
                .status(),
            200,
            "{path}"
        );
    }
    for (method, path) in [
        (Method::GET, "/api/webhooks"),
        (Method::POST, "/api/webhooks"),
        (Method::POST, "/api/webhooks/preview"),
        (Method::GET, "/api/webhooks/wh_x/secret"),
        (Method::POST, "/api/webhooks/wh_x/secret/rotate"),
        (Method::POST, "/api/webhooks/wh_x/test"),
        (Method::PATCH, "/api/webhooks/wh_x"),
        (Method::DELETE, "/api/webhooks/wh_x"),
        (Method::PATCH, "/api/triggers/trg_x"),
        (Method::DELETE, "/api/triggers/trg_x"),
        (Method::GET, "/api/triggers"),
        (Method::POST, "/api/triggers"),
        (Method::GET, "/api/triggers/trg_x/calls"),
        (Method::POST, "/api/triggers/trg_x/token"),
        (Method::GET, "/api/users"),
        (Method::POST, "/api/users"),
        (Method::PATCH, "/api/users/usr_x"),
        (Method::DELETE, "/api/users/usr_x"),
        (Method::POST, "/api/events"),
        (Method::POST, "/api/objects/ticket"),
        (Method::POST, "/api/deliveries/dlv_x/redeliver"),
        (Method::POST, "/api/webhooks/wh_x/recover"),
    ] {
        let response = app
            .request(method, path, Some(&token), Some(json!({})))
            .await;
        assert_error(response, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn admins_create_edit_and_delete_users() {
    let app = spawn_app().await;
    let id = create_user(&app, "ana", "admin").await;
    let taken = app
        .admin(
            Method::POST,
            "/api/users",
            Some(json!({"username": "ana", "password": "long-enough-pw", "role": "viewer"})),
        )
        .await;
    assert_error(taken, 409, "conflict").await;
    let short = app
        .admin(
            Method::POST,
            "/api/users",
            Some(json!({"username": "bo", "password": "short", "role": "viewer"})),
        )
        .await;
    let error = assert_error(short, 422, "validation_failed").await;
    assert!(error["fields"].get("password").is_some());

    // a webhook's author is whoever created it
    let token = token_for(&app, "ana").await;
    let body = json!({"name": "by ana", "url": "https://example.com"});
    let created: Value = app
        .request(Method::POST, "/api/webhooks", Some(&token), Some(body))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["data"]["author"], json!({"id": id, "name": "ana"}));

    let path = format!("/api/users/{id}");
    let demoted = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"role": "viewer", "password": "another-long-pw"})),
        )
        .await;
    assert_eq!(demoted.status(), 204);
    let user: Value = app
        .admin(Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["data"]["role"], "viewer");
    // a new password ends the old sessions
    assert_refused(&app, &token).await;
    assert_eq!(login(&app, "ana", "another-long-pw").await.status(), 200);

    // ana authored a webhook: deactivate, not delete
    assert_error(
        app.admin(Method::DELETE, &path, None).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(
        app.admin(Method::PATCH, &path, Some(json!({"active": false})))
            .await
            .status(),
        204
    );
    assert_error(
        login(&app, "ana", "another-long-pw").await,
        401,
        "invalid_credentials",
    )
    .await;

    let bo = create_user(&app, "bo", "viewer").await;
    assert_eq!(
        app.admin(Method::DELETE, &format!("/api/users/{bo}"), None)
            .await
            .status(),
        204
    );
    assert_error(
        app.admin(Method::GET, &format!("/api/users/{bo}"), None)
            .await,
        404,
        "not_found",
    )
    .await;
    let listed: Value = app
        .admin(Method::GET, "/api/users", None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "ana"]);
}

#[tokio::test]
async fn the_last_active_administrator_stays() {
    let app = spawn_app().await;
    let listed: Value = app
        .admin(Method::GET, "/api/users", None)
        .await
        .json()
        .await
        .unwrap();
    let admin = listed["data"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/users/{admin}");
    for body in [json!({"role": "viewer"}), json!({"active": false})] {
        assert_error(
            app.admin(Method::PATCH, &path, Some(body)).await,
            409,
            "conflict",
        )
        .await;
    }
    assert_error(
        app.admin(Method::DELETE, &path, None).await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn an_administrator_cannot_lock_themselves_out_even_beside_another() {
    let app = spawn_app().await;
    create_user(&app, "ana", "admin").await;
    let me = app.admin_json("/api/me").await;
    let path = format!("/api/users/{}", me["data"]["id"].as_str().unwrap());
    for body in [json!({"role": "viewer"}), json!({"active": false})] {
        let error = assert_error(
            app.admin(Method::PATCH, &path, Some(body)).await,
            409,
            "conflict",
        )
        .await;
        assert!(
            error["message"].as_str().unwrap().contains("yourself"),
            "{error}"
        );
    }
    assert_error(
        app.admin(Method::DELETE, &path, None).await,
        409,
        "conflict",
    )
    .await;
    let still = app.admin_json(&path).await;
    assert_eq!(still["data"]["role"], "admin");
    assert_eq!(still["data"]["active"], true);
}

#[tokio::test]
async fn logging_out_revokes_the_token() {
    let app = spawn_app().await;
    let response = login(&app, "admin", ADMIN_PASSWORD).await;
    let token = response.json::<Value>().await.unwrap()["data"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get_as(&app, &token, "/api/me").await.status(), 200);
    assert_eq!(
        app.request(Method::DELETE, "/api/session", Some(&token), None)
            .await
            .status(),
        204
    );
    assert_refused(&app, &token).await;
}

/// Callers are remembered for a moment between requests; a change to the
/// user must still count from the next request on.
#[tokio::test]
async fn a_new_role_or_deactivation_counts_from_the_next_request() {
    let app = spawn_app().await;
    let id = create_user(&app, "ada", "admin").await;
    let token = token_for(&app, "ada").await;
    let path = format!("/api/users/{id}");
    assert_eq!(get_as(&app, &token, "/api/users").await.status(), 200);

    let demote = app
        .admin(Method::PATCH, &path, Some(json!({"role": "viewer"})))
        .await;
    assert_eq!(demote.status(), 204);
    assert_error(get_as(&app, &token, "/api/users").await, 403, "forbidden").await;

    // Seen again as a viewer, so remembered again, then switched off.
    assert_eq!(get_as(&app, &token, "/api/me").await.status(), 200);
    let deactivate = app
        .admin(Method::PATCH, &path, Some(json!({"active": false})))
        .await;
    assert_eq!(deactivate.status(), 204);
    assert_refused(&app, &token).await;
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_down() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_error(
            login(&app, "admin", "wrong").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let limited = login(&app, "admin", ADMIN_PASSWORD).await;
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 900);
    assert_error(limited, 429, "too_many_requests").await;
}

#[tokio::test]
async fn usernames_are_unique_in_any_case() {
    let app = spawn_app().await;
    create_user(&app, "Ana", "viewer").await;
    let body = json!({"username": "ana", "password": "long-enough-pw", "role": "admin"});
    let taken = app.admin(Method::POST, "/api/users", Some(body)).await;
    let error = assert_error(taken, 409, "conflict").await;
    assert!(error["fields"]["username"].is_string(), "{error}");
    // One user, whatever case she types her name in.
    assert!(token_for(&app, "ANA").await.starts_with("hh_"));
}

#[tokio::test]
async fn a_user_added_twice_at_once_is_created_once_and_the_other_is_a_409() {
    let app = spawn_app().await;
    let body = json!({"username": "twice", "password": "long-enough-pw", "role": "viewer"});
    let (first, second) = tokio::join!(
        app.admin(Method::POST, "/api/users", Some(body.clone())),
        app.admin(Method::POST, "/api/users", Some(body)),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "a double click is never a 500");
    let users: Value = app
        .admin(Method::GET, "/api/users", None)
        .await
        .json()
        .await
        .unwrap();
    let named = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["username"] == "twice")
        .count();
    assert_eq!(named, 1);
}

#[tokio::test]
async fn the_owner_of_the_admin_token_cannot_be_demoted_by_another_administrator() {
    let app = spawn_app().await;
    create_user(&app, "ana", "admin").await;
    let bob = create_user(&app, "bob", "admin").await;
    let ana = login(&app, "ana", "long-enough-pw").await;
    let ana = ana.json::<Value>().await.unwrap()["data"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let owner = app.admin_json("/api/me").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/users/{owner}");
    for body in [json!({"role": "viewer"}), json!({"active": false})] {
        let refused = app
            .request(Method::PATCH, &path, Some(&ana), Some(body))
            .await;
        let error = assert_error(refused, 409, "conflict").await;
        assert!(
            error["message"].as_str().unwrap().contains("--admin-token"),
            "{error}"
        );
    }
    let refused = app.request(Method::DELETE, &path, Some(&ana), None).await;
    assert_error(refused, 409, "conflict").await;
    // The token still works as an administrator's, and other administrators
    // are not protected by it.
    assert_eq!(app.admin_json(&path).await["data"]["role"], "admin");
    let demote = app
        .request(
            Method::PATCH,
            &format!("/api/users/{bob}"),
            Some(&ana),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(demote.status(), 204);
}

#[tokio::test]
async fn null_for_a_user_field_is_a_422_naming_it() {
    let app = spawn_app().await;
    let id = create_user(&app, "ana", "viewer").await;
    let path = format!("/api/users/{id}");
    for field in ["role", "active", "password"] {
        let patch = app
            .admin(Method::PATCH, &path, Some(json!({ field: null })))
            .await;
        let error = assert_error(patch, 422, "validation_failed").await;
        assert!(error["fields"][field].is_string(), "{field}: {error}");
    }
}
