//! Every request body is one JSON object, read one way: arrays are not
//! objects, a key given twice is refused, a missing field is named.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, ADMIN_TOKEN, TestApp, assert_error, created_id, spawn_app};

/// Sends `body` as raw text with a token (or none).
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn assert_field(response: reqwest::Response, field: &str) {
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(
        error["fields"].get(field).is_some(),
        "expected {field} in {error}"
    );
}

#[tokio::test]
async fn arrays_are_refused_where_an_object_is_expected() {
    let app = spawn_app().await;
    let webhook = app
        .create_webhook(json!({"name": "kept", "url": "https://example.com/in"}))
        .await;
    let id = webhook["id"].as_str().unwrap();
    let trigger = json!({"name": "t", "method": "GET"});
    let trigger = created_id(
        app.admin(Method::POST, "/api/triggers", Some(trigger))
            .await,
    )
    .await;
    let user = json!({"username": "vi", "password": "long-enough-pw", "role": "viewer"});
    let user = created_id(app.admin(Method::POST, "/api/users", Some(user)).await).await;
    let token = Some(ADMIN_TOKEN);
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/webhooks/{id}"),
            r#"["positional-name"]"#,
        ),
        (Method::PATCH, format!("/api/webhooks/{id}"), "[]"),
        (Method::PATCH, format!("/api/triggers/{trigger}"), "[]"),
        (Method::PATCH, format!("/api/users/{user}"), "[]"),
        (
            Method::POST,
            "/api/webhooks".into(),
            r#"["pos","http://127.0.0.1:9/"]"#,
        ),
        (Method::POST, "/api/events".into(), r#"["x.y", {}]"#),
        (Method::POST, "/api/objects/ticket".into(), "[1]"),
        (Method::POST, "/api/webhooks".into(), "\"text\""),
    ] {
        let response = send_raw(&app, method.clone(), &path, token, body).await;
        assert_field(response, "body").await;
    }
    let login = send_raw(
        &app,
        Method::POST,
        "/api/session",
        None,
        &json!(["admin", ADMIN_PASSWORD]).to_string(),
    )
    .await;
    assert_field(login, "body").await;
    // Nothing changed.
    assert_eq!(app.webhook(id).await["name"], "kept");
    assert_eq!(app.webhook_count().await, 1);
}

#[tokio::test]
async fn a_key_given_twice_is_refused_and_named() {
    let app = spawn_app().await;
    let response = send_raw(
        &app,
        Method::POST,
        "/api/users",
        Some(ADMIN_TOKEN),
        r#"{"username": "mallory", "password": "long-enough-pw", "role": "viewer", "role": "admin"}"#,
    )
    .await;
    assert_field(response, "role").await;
    let users = app.admin(Method::GET, "/api/users", None).await;
    let users: Value = users.json().await.unwrap();
    assert!(
        !users["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "mallory")
    );
    let nested = send_raw(
        &app,
        Method::POST,
        "/api/webhooks",
        Some(ADMIN_TOKEN),
        r#"{"name": "n", "url": "https://example.com/", "auth": {"type": "none", "type": "basic"}}"#,
    )
    .await;
    assert_field(nested, "auth.type").await;
    assert_eq!(app.webhook_count().await, 0);
}

#[tokio::test]
async fn a_missing_field_is_reported_under_its_own_name() {
    let app = spawn_app().await;
    let response = app
        .admin(
            Method::POST,
            "/api/session",
            Some(json!({"username": "admin"})),
        )
        .await;
    assert_field(response, "password").await;
    let event = app
        .admin(Method::POST, "/api/events", Some(json!({"data": {}})))
        .await;
    assert_field(event, "type").await;
}

#[tokio::test]
async fn a_login_with_an_unknown_field_is_refused() {
    let app = spawn_app().await;
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD, "remember": true});
    let response = app
        .request(Method::POST, "/api/session", None, Some(body))
        .await;
    assert_field(response, "remember").await;
}

#[tokio::test]
async fn a_body_or_a_head_that_stops_arriving_ends_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::helpers::spawn_app_with(&["--idle-timeout=1s"]).await;
    let host = app.address.trim_start_matches("http://");
    let mut stalled_body = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"type\""
    );
    stalled_body.write_all(head.as_bytes()).await.unwrap();
    let mut stalled_head = tokio::net::TcpStream::connect(host).await.unwrap();
    stalled_head
        .write_all(b"GET /api/health HTTP/1.1\r\n")
        .await
        .unwrap();
    let idle = tokio::net::TcpStream::connect(host).await.unwrap();

    let within = std::time::Duration::from_secs(5);
    let mut answer = String::new();
    tokio::time::timeout(within, stalled_body.read_to_string(&mut answer))
        .await
        .expect("the stalled body kept its connection")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    for mut socket in [stalled_head, idle] {
        let mut rest = Vec::new();
        tokio::time::timeout(within, socket.read_to_end(&mut rest))
            .await
            .expect("an idle connection stayed open")
            .ok();
    }
    let events = app.admin(Method::GET, "/api/deliveries", None).await;
    let events: Value = events.json().await.unwrap();
    assert_eq!(events["data"], json!([]), "the stalled event was stored");
}

/// PostgreSQL refuses NUL in text, SQLite would store it: on either, a NUL
/// in a path, a query, a body field or a trigger call is a 422 naming where
/// it is (never a 500), and nothing is stored.
#[tokio::test]
async fn nul_characters_anywhere_are_refused_naming_where_they_are() {
    let app = crate::helpers::spawn_app().await;
    let webhook = app
        .create_webhook(json!({"name": "n", "url": "https://example.com/in"}))
        .await;
    let id = webhook["id"].as_str().unwrap();
    let gets = [
        ("/api/webhooks/a%00b".to_string(), "id"),
        ("/api/deliveries/dlv%00".to_string(), "id"),
        ("/api/deliveries?webhook_id=a%00b".to_string(), "webhook_id"),
        ("/api/deliveries?cursor=%00".to_string(), "cursor"),
        (
            "/api/deliveries?event_type=a%00.b".to_string(),
            "event_type",
        ),
        ("/api/objects/ticket?cursor=%00".to_string(), "cursor"),
        ("/api/objects/ticket/obj%00".to_string(), "id"),
        ("/api/users/usr%00".to_string(), "id"),
        ("/api/triggers/trg%00".to_string(), "id"),
        (format!("/api/webhooks/{id}/headers/x%00y"), "name"),
    ];
    for (path, field) in &gets {
        let response = app.admin(Method::GET, path, None).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"][field].is_string(), "GET {path}: {error}");
    }
    let nul = "a\u{0}b";
    let url = "https://example.com/in";
    let bodies = [
        ("/api/webhooks", json!({"name": nul, "url": url}), "name"),
        (
            "/api/webhooks",
            json!({"name": "n", "url": "https://example.com/\u{0}"}),
            "url",
        ),
        (
            "/api/webhooks",
            json!({"name": "n", "url": url,
                "auth": {"type": "basic", "username": nul, "password": "secret-password"}}),
            "auth.username",
        ),
        (
            "/api/webhooks",
            json!({"name": "n", "url": url, "data_location": nul}),
            "data_location",
        ),
        (
            "/api/webhooks",
            json!({"name": "n", "url": url, "headers": {"X-A": nul}}),
            "headers.X-A",
        ),
        (
            "/api/webhooks",
            json!({"name": "n", "url": url, "events": [nul]}),
            "events[0]",
        ),
        ("/api/events", json!({"type": nul, "data": {}}), "type"),
        (
            "/api/events",
            json!({"type": "a.b", "data": {"x": nul}}),
            "data.x",
        ),
        ("/api/objects/ticket", json!({"title": nul}), "title"),
        (
            "/api/users",
            json!({"username": nul, "password": "long-enough-password", "role": "viewer"}),
            "username",
        ),
        (
            "/api/triggers",
            json!({"name": nul, "event_type": "a.b"}),
            "name",
        ),
        (
            "/api/session",
            json!({"username": nul, "password": "x"}),
            "username",
        ),
    ];
    for (path, body, field) in bodies {
        let response = app.admin(Method::POST, path, Some(body.clone())).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(
            error["fields"][field].is_string(),
            "POST {path} {body}: {error}"
        );
    }
    assert_eq!(app.webhook_count().await, 1, "a refused webhook was stored");

    // A trigger's caller: the query, a form or a JSON body become the event's data.
    let trigger = app
        .admin(
            Method::POST,
            "/api/triggers",
            Some(json!({"name": "t", "event_type": "a.b", "method": "POST"})),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let hook_url = trigger["data"]["hook_url"].as_str().unwrap();
    let calls = [
        (app.client.post(format!("{hook_url}?x=a%00b")), "x"),
        (
            app.client
                .post(hook_url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("y=a%00b"),
            "y",
        ),
        (app.client.post(hook_url).json(&json!({"z": nul})), "z"),
    ];
    for (call, field) in calls {
        let error = assert_error(call.send().await.unwrap(), 422, "validation_failed").await;
        assert!(error["fields"][field].is_string(), "{error}");
    }
}

/// Hostile shapes get a clear 4xx, store nothing, and the server goes on answering.
#[tokio::test]
async fn deep_nesting_invalid_utf8_and_thousands_of_headers_are_refused() {
    let app = spawn_app().await;
    let deep = format!(
        r#"{{"type": "a.b", "data": {}1{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let response = send_raw(&app, Method::POST, "/api/events", Some(ADMIN_TOKEN), &deep).await;
    assert_error(response, 400, "bad_request").await;

    let invalid = app
        .client
        .post(app.url("/api/webhooks"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(b"{\"name\": \"\xff\xfe\", \"url\": \"https://example.com/in\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_error(invalid, 400, "bad_request").await;
    assert_eq!(app.webhook_count().await, 0);

    let mut request = app
        .client
        .get(app.url("/api/webhooks"))
        .bearer_auth(ADMIN_TOKEN);
    for n in 0..5_000 {
        request = request.header(format!("x-filler-{n}"), "x");
    }
    let status = match request.send().await {
        Ok(response) => Some(response.status()),
        // The server may close the connection as it refuses.
        Err(_) => None,
    };
    assert!(
        status.is_none_or(|status| status.is_client_error()),
        "{status:?}"
    );

    let health = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// A body over the 10 MiB limit, sent in pieces with pauses (chunked, so
/// that no length announces it): hookhub reads up to the limit, answers 413
/// in the error shape, stores nothing, and does not read on.
#[tokio::test]
async fn a_body_over_the_limit_sent_slowly_is_refused_at_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const MIB: usize = 1 << 20;
    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://");
    let socket = tokio::net::TcpStream::connect(host).await.unwrap();
    let (mut reading, mut writing) = socket.into_split();
    let head = format!(
        "POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    writing.write_all(head.as_bytes()).await.unwrap();
    let sender = tokio::spawn(async move {
        let mut sent = 0;
        let mut chunk = format!("{:x}\r\n", MIB).into_bytes();
        chunk.extend(std::iter::repeat_n(b' ', MIB));
        chunk.extend(b"\r\n");
        // Up to 64 MiB, a piece every 20 ms, until hookhub stops reading.
        while sent < 64 * MIB && writing.write_all(&chunk).await.is_ok() {
            sent += MIB;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        sent
    });
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        reading.read_to_end(&mut answer),
    )
    .await
    .expect("no answer to the oversized body")
    .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");
    let sent = sender.await.unwrap();
    assert!(sent < 32 * MIB, "hookhub read on: {sent} bytes taken");
    let deliveries: Value = app.admin_json("/api/deliveries").await;
    assert_eq!(deliveries["data"], json!([]));
    let health = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
