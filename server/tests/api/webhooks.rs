use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, assert_error, backend, spawn_app, spawn_app_with, wait_for, wait_until,
};

fn minimal() -> Value {
    json!({"name": "Orders", "url": "https://example.com/hooks/orders"})
}

#[tokio::test]
async fn creating_a_webhook_answers_201_with_its_location_and_defaults() {
    let app = spawn_app().await;
    let response = app
        .admin(Method::POST, "/api/webhooks", Some(minimal()))
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let webhook = response.json::<Value>().await.unwrap()["data"].clone();
    let id = webhook["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/webhooks/{id}"));
    assert_eq!(webhook["content_type"], "webhook");
    assert_eq!(webhook["name"], "Orders");
    assert_eq!(webhook["url"], "https://example.com/hooks/orders");
    assert_eq!(webhook["events"], json!([]));
    assert_eq!(webhook["active"], true);
    assert_eq!(webhook["method"], "POST");
    assert_eq!(webhook["auth"], json!({"type": "none"}));
    assert_eq!(webhook["data_location"], Value::Null);
    assert_eq!(webhook["headers"], json!({}));
    assert_eq!(webhook["author"]["name"], "admin");
    assert_eq!(
        webhook["permissions"],
        json!({"edit": true, "delete": true})
    );
    assert!(webhook["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(webhook["health"]["consecutive_failures"], 0);
    assert_eq!(app.webhook(id).await, webhook);
}

#[tokio::test]
async fn every_writable_field_is_stored_and_shown() {
    let app = spawn_app().await;
    let webhook = app
        .create_webhook(json!({
            "name": "Tickets",
            "url": "http://receiver.example:9000/in",
            "events": ["ticket.create", "ticket.update", "unit.*"],
            "active": false,
            "method": "PATCH",
            "auth": {"type": "basic", "username": "hook", "password": "pa55word"},
            "data_location": "root/result",
            "headers": {"X-Team": "support"}
        }))
        .await;
    assert_eq!(
        webhook["events"],
        json!(["ticket.create", "ticket.update", "unit.*"])
    );
    assert_eq!(webhook["active"], false);
    assert_eq!(webhook["method"], "PATCH");
    assert_eq!(
        webhook["auth"],
        json!({"type": "basic", "username": "hook", "password_set": true})
    );
    assert_eq!(webhook["data_location"], "root/result");
    // Header values may be keys: shown masked, revealed on demand.
    assert_eq!(webhook["headers"], json!({"X-Team": "***"}));
}

#[tokio::test]
async fn uri_and_triggers_are_accepted_as_aliases() {
    let app = spawn_app().await;
    let webhook = app
        .create_webhook(
            json!({"name": "A", "uri": "https://a.example", "triggers": ["object.create"]}),
        )
        .await;
    assert_eq!(webhook["url"], "https://a.example");
    assert_eq!(webhook["events"], json!(["object.create"]));
}

#[tokio::test]
async fn the_list_shows_every_webhook_in_creation_order() {
    let app = spawn_app().await;
    for name in ["first", "second", "third"] {
        app.create_webhook(json!({"name": name, "url": "https://example.com"}))
            .await;
    }
    let body: Value = app
        .admin(Method::GET, "/api/webhooks", None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["first", "second", "third"]);
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_patch_changes_only_the_fields_it_names() {
    let app = spawn_app().await;
    let created = app
        .create_webhook(json!({
            "name": "Orders", "url": "https://example.com", "events": ["order.create"],
            "data_location": "root/result"
        }))
        .await;
    let id = created["id"].as_str().unwrap();
    let response = app
        .admin(
            Method::PATCH,
            &format!("/api/webhooks/{id}"),
            Some(json!({"active": false, "method": "PUT"})),
        )
        .await;
    assert_eq!(response.status(), 204);
    let updated = app.webhook(id).await;
    assert_eq!(updated["active"], false);
    assert_eq!(updated["method"], "PUT");
    assert_eq!(updated["name"], "Orders");
    assert_eq!(updated["events"], json!(["order.create"]));
    assert_eq!(updated["data_location"], "root/result");

    let cleared = app
        .admin(
            Method::PATCH,
            &format!("/api/webhooks/{id}"),
            Some(json!({"data_location": null})),
        )
        .await;
    assert_eq!(cleared.status(), 204);
    assert_eq!(app.webhook(id).await["data_location"], Value::Null);
}

#[tokio::test]
async fn an_edit_without_the_password_keeps_it_set() {
    let app = spawn_app().await;
    let created = app
        .create_webhook(json!({
            "name": "B", "url": "https://example.com",
            "auth": {"type": "bearer", "token": "tok-123"}
        }))
        .await;
    let id = created["id"].as_str().unwrap();
    let response = app
        .admin(
            Method::PATCH,
            &format!("/api/webhooks/{id}"),
            Some(json!({"name": "B2", "auth": {"type": "bearer"}})),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        app.webhook(id).await["auth"],
        json!({"type": "bearer", "token_set": true})
    );

    // switching type needs the new credential
    let response = app
        .admin(
            Method::PATCH,
            &format!("/api/webhooks/{id}"),
            Some(json!({"auth": {"type": "basic", "username": "u"}})),
        )
        .await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert_eq!(error["fields"]["auth.password"], "is required");
}

#[tokio::test]
async fn a_deleted_webhook_is_gone() {
    let app = spawn_app().await;
    let id = app.create_webhook_id(minimal()).await;
    let path = format!("/api/webhooks/{id}");
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert_error(app.admin(Method::GET, &path, None).await, 404, "not_found").await;
    assert_error(
        app.admin(Method::DELETE, &path, None).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.webhook_count().await, 0);
}

#[tokio::test]
async fn unknown_webhooks_are_404_on_every_route() {
    let app = spawn_app().await;
    for (method, path, body) in [
        (Method::GET, "/api/webhooks/wh_missing", None),
        (
            Method::PATCH,
            "/api/webhooks/wh_missing",
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, "/api/webhooks/wh_missing", None),
        (Method::GET, "/api/webhooks/wh_missing/secret", None),
        (Method::POST, "/api/webhooks/wh_missing/secret/rotate", None),
    ] {
        assert_error(app.admin(method, path, body).await, 404, "not_found").await;
    }
}

#[tokio::test]
async fn invalid_fields_are_422_naming_each_and_nothing_is_stored() {
    let app = spawn_app().await;
    let cases = [
        (json!({}), vec!["name", "url"]),
        (
            json!({"name": "", "url": "https://example.com"}),
            vec!["name"],
        ),
        (
            json!({"name": "x".repeat(201), "url": "https://example.com"}),
            vec!["name"],
        ),
        (json!({"name": "a", "url": "not a url"}), vec!["url"]),
        (
            json!({"name": "a", "url": "ftp://example.com"}),
            vec!["url"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "events": ["Ticket.Create"]}),
            vec!["events"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "method": "GET"}),
            vec!["method"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "active": "yes"}),
            vec!["active"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "auth": {"type": "basic", "username": "u"}}),
            vec!["auth.password"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "auth": {"type": "bearer", "token": ""}}),
            vec!["auth.token"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "auth": {"type": "digest"}}),
            vec!["auth.type"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "data_location": "root//x"}),
            vec!["data_location"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "headers": {"Content-Type": "text/plain"}}),
            vec!["headers"],
        ),
        (
            json!({"name": "a", "url": "https://e.com", "colour": "red"}),
            vec!["colour"],
        ),
    ];
    for (body, fields) in cases {
        let response = app
            .admin(Method::POST, "/api/webhooks", Some(body.clone()))
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        let named: Vec<&String> = error["fields"].as_object().unwrap().keys().collect();
        assert_eq!(named, fields, "{body}");
    }
    assert_eq!(app.webhook_count().await, 0);
}

#[tokio::test]
async fn a_rejected_patch_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create_webhook(minimal()).await;
    let path = format!("/api/webhooks/{}", created["id"].as_str().unwrap());
    let response = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"name": "new name", "url": "nope"})),
        )
        .await;
    assert_error(response, 422, "validation_failed").await;
    assert_eq!(app.webhook(created["id"].as_str().unwrap()).await, created);
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/webhooks"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_error(response, 400, "bad_request").await;
    assert_eq!(app.webhook_count().await, 0);
}

#[tokio::test]
async fn a_body_over_10_mib_is_413() {
    let app = spawn_app().await;
    let padding = "x".repeat(10 * 1024 * 1024);
    let body = json!({"name": "big", "url": "https://example.com", "headers": {"X-Pad": padding}});
    let response = app.admin(Method::POST, "/api/webhooks", Some(body)).await;
    assert_error(response, 413, "payload_too_large").await;
    assert_eq!(app.webhook_count().await, 0);
}

#[tokio::test]
async fn credentials_are_never_returned_and_not_stored_in_plaintext() {
    let app = spawn_app().await;
    let password = "plaintext-password-4f9d";
    let token = "plaintext-bearer-token-8a1c";
    let basic = app
        .create_webhook(json!({"name": "a", "url": "https://e.com",
            "auth": {"type": "basic", "username": "u", "password": password}}))
        .await;
    let bearer = app
        .create_webhook(json!({"name": "b", "url": "https://e.com",
            "auth": {"type": "bearer", "token": token}}))
        .await;
    let secret = app
        .admin(
            Method::GET,
            &format!("/api/webhooks/{}/secret", basic["id"].as_str().unwrap()),
            None,
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]["secret"]
        .as_str()
        .unwrap()
        .to_string();

    let listed = app
        .admin(Method::GET, "/api/webhooks", None)
        .await
        .text()
        .await
        .unwrap();
    for shown in [basic.to_string(), bearer.to_string(), listed] {
        assert!(!shown.contains(password) && !shown.contains(token) && !shown.contains(&secret));
    }
    for plaintext in [password, token, secret.as_str()] {
        app.assert_not_stored(plaintext).await;
    }
    // A SQLite database's files are its owner's alone.
    let files = app.database_files();
    assert_eq!(files.is_empty(), backend() == Backend::Postgres);
    for file in files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "{} is readable by others",
            file.display()
        );
    }
}

#[tokio::test]
async fn each_webhook_has_its_own_whsec_signing_secret() {
    let app = spawn_app().await;
    let a = app.create_webhook(minimal()).await;
    let b = app.create_webhook(minimal()).await;
    let secret_a = app.secret(a["id"].as_str().unwrap()).await;
    let secret_b = app.secret(b["id"].as_str().unwrap()).await;
    assert_ne!(secret_a, secret_b);
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret_a.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert!(key.len() >= 24);
}

#[tokio::test]
async fn rotating_a_secret_replaces_it() {
    let app = spawn_app().await;
    let id = app.create_webhook_id(minimal()).await;
    let before = app.secret(&id).await;
    let rotated = app.rotate_secret(&id).await;
    assert!(rotated.starts_with("whsec_"));
    assert_ne!(rotated, before);
    assert_eq!(app.secret(&id).await, rotated);
}

/// Secrets, tokens and event data are for their caller alone: no cache,
/// a browser's or a proxy's, keeps an answer of the API.
#[tokio::test]
async fn answers_that_reveal_secrets_are_never_cached() {
    let app = spawn_app().await;
    let id = app.create_webhook_id(minimal()).await;
    let login = json!({"username": "admin", "password": crate::helpers::ADMIN_PASSWORD});
    for (method, path, body) in [
        (Method::GET, format!("/api/webhooks/{id}/secret"), None),
        (
            Method::POST,
            format!("/api/webhooks/{id}/secret/rotate"),
            None,
        ),
        (Method::GET, format!("/api/webhooks/{id}"), None),
        (Method::POST, "/api/session".to_string(), Some(login)),
    ] {
        let response = app.admin(method, &path, body).await;
        assert!(response.status().is_success(), "{path}");
        let cache = response.headers().get("cache-control");
        assert_eq!(
            cache.and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn names_with_control_characters_are_refused() {
    let app = spawn_app().await;
    for name in ["line\nbreak", "bell\u{7}", "tab\tinside"] {
        let body = json!({"name": name, "url": "https://example.com/in"});
        let response = app.admin(Method::POST, "/api/webhooks", Some(body)).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"]["name"].is_string(), "{name:?}: {error}");
        let trigger = json!({"name": name, "method": "GET"});
        let response = app
            .admin(Method::POST, "/api/triggers", Some(trigger))
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"]["name"].is_string(), "{name:?}: {error}");
    }
    assert_eq!(app.webhook_count().await, 0);
}

#[tokio::test]
async fn the_url_is_stored_and_shown_as_it_will_be_called() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let webhook = app
        .create_webhook(json!({"name": "n", "url": r"http://127.0.0.1:28190\@example.com/"}))
        .await;
    assert_eq!(webhook["url"], "http://127.0.0.1:28190/@example.com/");
    for url in [
        " https://example.com/",
        "https://example.com/\r\nX: 1",
        "https://example.com/a b",
    ] {
        let body = json!({"name": "n", "url": url});
        let response = app.admin(Method::POST, "/api/webhooks", Some(body)).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"]["url"].is_string(), "{url:?}");
    }
    assert_eq!(app.webhook_count().await, 1);
}

#[tokio::test]
async fn extra_header_values_are_sealed_masked_and_revealed_on_demand() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let receiver = crate::receiver::Receiver::start().await;
    let key = "sk-extra-header-value-4711";
    let webhook = app
        .create_webhook(
            json!({"name": "keyed", "url": receiver.url, "events": ["*"],
                               "headers": {"X-Api-Key": key, "X-Team": "ops"}}),
        )
        .await;
    let id = webhook["id"].as_str().unwrap();
    assert_eq!(
        webhook["headers"],
        json!({"X-Api-Key": "***", "X-Team": "***"})
    );
    let revealed = app
        .admin(
            Method::GET,
            &format!("/api/webhooks/{id}/headers/x-api-key"),
            None,
        )
        .await;
    let revealed: Value = revealed.json().await.unwrap();
    assert_eq!(revealed["data"], json!({"name": "X-Api-Key", "value": key}));

    // A form sends the names back with null: the stored values stay.
    let patch = json!({"headers": {"X-Api-Key": null, "X-Team": "billing"}});
    let response = app
        .admin(Method::PATCH, &format!("/api/webhooks/{id}"), Some(patch))
        .await;
    assert_eq!(response.status(), 204);
    let unknown = json!({"headers": {"X-Unknown": null}});
    let response = app
        .admin(Method::PATCH, &format!("/api/webhooks/{id}"), Some(unknown))
        .await;
    assert_error(response, 422, "validation_failed").await;

    app.publish("ticket.create", json!({})).await;
    let received = receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(received[0].header("x-api-key"), Some(key));
    assert_eq!(received[0].header("x-team"), Some("billing"));

    // The logs show names, not values.
    let list: Value = app
        .admin(Method::GET, "/api/deliveries", None)
        .await
        .json()
        .await
        .unwrap();
    let delivery = list["data"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/deliveries/{delivery}");
    let detail = wait_for(
        "its attempt",
        std::time::Duration::from_secs(10),
        async || {
            let detail = app.admin(Method::GET, &path, None).await;
            Some(detail.text().await.unwrap()).filter(|d| d.contains("\"request\""))
        },
    )
    .await;
    assert!(!detail.contains(key), "{detail}");
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(
        detail["data"]["attempts"][0]["request"]["headers"]["x-api-key"],
        "***"
    );

    // Nor does the database, its log included.
    app.assert_not_stored(key).await;
}

#[tokio::test]
async fn header_values_stored_in_the_clear_by_an_earlier_version_are_sealed_at_start() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let receiver = crate::receiver::Receiver::start().await;
    let key = "sk-left-in-the-clear-0815";
    let id = app
        .create_webhook_id(json!({"name": "old", "url": receiver.url, "events": ["*"]}))
        .await;
    // As an earlier version wrote it.
    let headers = json!({"X-Api-Key": key}).to_string();
    app.execute(
        "UPDATE webhooks SET headers = $1, headers_sealed = FALSE WHERE id = $2",
        &[&headers, &id],
    )
    .await;

    let app = crate::helpers::restart_with(app, &["--allow-private-targets"]).await;
    assert_eq!(
        app.webhook(&id).await["headers"],
        json!({"X-Api-Key": "***"})
    );
    app.publish("ticket.create", json!({})).await;
    let received = receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(received[0].header("x-api-key"), Some(key));
    app.assert_not_stored(key).await;
}

#[tokio::test]
async fn health_says_whether_a_webhook_is_off_failing_or_never_called_and_why() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    // A port nobody listens on: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/in", closed.local_addr().unwrap());
    drop(closed);
    let webhook = app
        .create_webhook(json!({"name": "off", "url": url, "active": false, "events": ["ticket.*"]}))
        .await;
    let id = webhook["id"].as_str().unwrap();
    let health = &webhook["health"];
    assert_eq!(health["state"], "disabled");
    assert!(health["disabled_at"].is_string());
    assert_eq!(
        health["disabled_reason"],
        Value::Null,
        "off by hand: no reason"
    );

    let on = app
        .admin(
            Method::PATCH,
            &format!("/api/webhooks/{id}"),
            Some(json!({"active": true})),
        )
        .await;
    assert!(on.status().is_success());
    let health = app.webhook(id).await["health"].clone();
    assert_eq!(health["state"], "never_called");
    assert_eq!(health["disabled_at"], Value::Null);

    // A Test tells nothing of the health (a webhook that never had an
    // event must not be switched off by its tests); a delivery does.
    let test = app
        .admin(Method::POST, &format!("/api/webhooks/{id}/test"), None)
        .await;
    assert_eq!(test.status(), 200);
    let health = app.webhook(id).await["health"].clone();
    assert_eq!(health["state"], "never_called");
    assert_eq!(health["consecutive_failures"], 0);
    app.publish("ticket.create", json!({})).await;
    wait_until(
        "the failed attempt",
        std::time::Duration::from_secs(10),
        async || app.webhook(id).await["health"]["consecutive_failures"] == 1,
    )
    .await;
    let health = app.webhook(id).await["health"].clone();
    assert_eq!(health["state"], "failing");
    assert_eq!(health["last_error"], "connection refused");
    assert_eq!(health["consecutive_failures"], 1);
}

#[tokio::test]
async fn null_for_a_field_that_cannot_be_empty_is_a_422_naming_it() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let id = app.create_webhook_id(minimal()).await;
    let path = format!("/api/webhooks/{id}");
    let before = app.webhook(&id).await;
    for field in [
        "name", "url", "events", "active", "method", "auth", "headers",
    ] {
        let patch = app
            .admin(Method::PATCH, &path, Some(json!({ field: null })))
            .await;
        let error = assert_error(patch, 422, "validation_failed").await;
        assert!(error["fields"][field].is_string(), "{field}: {error}");
        let create = app
            .admin(
                Method::POST,
                "/api/webhooks",
                Some(json!({"name": "n", "url": "http://127.0.0.1:9/", field: null})),
            )
            .await;
        let error = assert_error(create, 422, "validation_failed").await;
        assert!(error["fields"][field].is_string(), "{field}: {error}");
    }
    // `null` still means "none" where a field may be empty.
    let none = app
        .admin(Method::PATCH, &path, Some(json!({"data_location": null})))
        .await;
    assert_eq!(none.status(), 204);
    let mut after = app.webhook(&id).await;
    after["updated_at"] = before["updated_at"].clone();
    assert_eq!(after, before);
    assert_eq!(app.webhook_count().await, 1);
}

#[tokio::test]
async fn names_that_hide_or_reorder_text_are_refused() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let stacked = format!("a{}", "\u{0301}".repeat(200));
    for name in [
        "invoice\u{202e}fdp.exe",
        "\u{200b}",
        "\u{2066}x\u{2069}",
        &stacked,
    ] {
        let body = json!({"name": name, "url": "http://127.0.0.1:9/"});
        let refused = app.admin(Method::POST, "/api/webhooks", Some(body)).await;
        let error = assert_error(refused, 422, "validation_failed").await;
        assert!(error["fields"]["name"].is_string(), "{name:?}: {error}");
        let trigger = app
            .admin(Method::POST, "/api/triggers", Some(json!({"name": name})))
            .await;
        let error = assert_error(trigger, 422, "validation_failed").await;
        assert!(error["fields"]["name"].is_string(), "{name:?}: {error}");
    }
    assert_eq!(app.webhook_count().await, 0);
    let fine = json!({"name": "Café → CMDB 👩‍💻", "url": "http://127.0.0.1:9/"});
    let created = app.admin(Method::POST, "/api/webhooks", Some(fine)).await;
    assert_eq!(created.status(), 201);
}

#[tokio::test]
async fn a_signing_secret_is_never_kept_by_a_cache() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let id = app.create_webhook_id(minimal()).await;
    for (method, path) in [
        (Method::GET, format!("/api/webhooks/{id}/secret")),
        (Method::POST, format!("/api/webhooks/{id}/secret/rotate")),
    ] {
        let answer = app.admin(method, &path, None).await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["cache-control"], "no-store", "{path}");
    }
}
