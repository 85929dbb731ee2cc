use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app_with, wait_until};
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(10);

async fn create_trigger(app: &TestApp, body: Value) -> Value {
    let response = app.admin(Method::POST, "/api/triggers", Some(body)).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    response.json::<Value>().await.unwrap()["data"].clone()
}

async fn calls(app: &TestApp, id: &str) -> Vec<Value> {
    let response = app
        .admin(Method::GET, &format!("/api/triggers/{id}/calls"), None)
        .await;
    response.json::<Value>().await.unwrap()["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_trigger_gets_an_unguessable_hook_url_and_sensible_defaults() {
    let app = spawn_app_with(&[]).await;
    let trigger = create_trigger(&app, json!({"name": "Weather Report"})).await;
    let url = trigger["hook_url"].as_str().unwrap();
    let slug = url.rsplit('/').next().unwrap();
    assert!(url.starts_with(&format!("{}/hooks/", app.address)), "{url}");
    assert!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(slug)
            .unwrap()
            .len()
            >= 16
    );
    assert_eq!(trigger["content_type"], "trigger");
    assert_eq!(trigger["method"], "POST");
    assert_eq!(trigger["event_type"], "trigger.weather_report");
    assert_eq!(trigger["response"], "outputs");
    assert_eq!(trigger["auth"], json!({"type": "none"}));
    assert_eq!(trigger["author"]["name"], "admin");
    let other = create_trigger(&app, json!({"name": "Weather Report"})).await;
    assert_ne!(other["hook_url"], trigger["hook_url"]);

    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": "x", "method": "PUT"}), "method"),
        (json!({"name": "x", "event_type": "Bad Type"}), "event_type"),
        (json!({"name": "x", "response": "loud"}), "response"),
        (
            json!({"name": "x", "auth": {"type": "basic", "username": "u"}}),
            "auth.password",
        ),
        (
            json!({"name": "x", "auth": {"type": "bearer", "token": "mine"}}),
            "auth.token",
        ),
    ] {
        let response = app
            .admin(Method::POST, "/api/triggers", Some(body.clone()))
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"].get(field).is_some(), "{body}: {error}");
    }
    let listed: Value = app
        .admin(Method::GET, "/api/triggers", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_bearer_trigger_with_a_required_param_relays_to_webhooks() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"name": "r", "url": receiver.url, "events": ["weather.*"]}))
        .await;
    let trigger = create_trigger(
        &app,
        json!({"name": "City weather", "auth": {"type": "bearer"}, "params": {"CityName": "Paris"},
               "event_type": "weather.report"}),
    )
    .await;
    let id = trigger["id"].as_str().unwrap();
    let url = trigger["hook_url"].as_str().unwrap();
    assert_eq!(
        trigger["auth"],
        json!({"type": "bearer", "token_set": false})
    );

    let client = reqwest::Client::new();
    // no token generated yet: nobody gets in
    let refused = client
        .post(url)
        .json(&json!({"CityName": "Paris"}))
        .send()
        .await
        .unwrap();
    assert_error(refused, 401, "unauthorized").await;

    let response = app
        .admin(Method::POST, &format!("/api/triggers/{id}/token"), None)
        .await;
    let token = response.json::<Value>().await.unwrap()["data"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = app
        .admin(Method::GET, &format!("/api/triggers/{id}"), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!shown.contains(&token), "the token is shown once only");
    assert!(shown.contains("\"token_set\":true"));

    let wrong = client
        .post(url)
        .bearer_auth("hht_wrong")
        .json(&json!({"CityName": "Paris"}))
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "unauthorized").await;
    let get = client.get(url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(get.headers()["allow"], "POST");
    assert_error(get, 405, "method_not_allowed").await;
    let other_city = client
        .post(url)
        .bearer_auth(&token)
        .json(&json!({"CityName": "Lyon"}))
        .send()
        .await
        .unwrap();
    let error = assert_error(other_city, 422, "validation_failed").await;
    assert_eq!(error["fields"]["CityName"], "must be \"Paris\"");
    let missing = client
        .post(url)
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(missing, 422, "validation_failed").await;
    assert!(
        receiver.received().is_empty(),
        "a refused call created an event"
    );

    let accepted = client
        .post(format!("{url}?units=metric"))
        .bearer_auth(&token)
        .json(&json!({"CityName": "Paris", "temp": 21}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let outputs = accepted.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(outputs["event"]["type"], "weather.report");
    assert_eq!(
        outputs["event"]["data"],
        json!({"CityName": "Paris", "temp": 21, "units": "metric"})
    );
    assert_eq!(outputs["deliveries"].as_array().unwrap().len(), 1);

    let relayed = &receiver.wait_for(1, WAIT).await[0];
    assert_eq!(relayed.json()["type"], "weather.report");
    assert_eq!(relayed.json()["data"]["CityName"], "Paris");
    assert_eq!(
        relayed.header("webhook-id"),
        outputs["deliveries"][0]["id"].as_str()
    );

    // Refused calls alike are one entry with their count (written every two seconds).
    let expected = [
        ("accepted", 1),
        ("invalid", 2),
        ("method_not_allowed", 1),
        ("unauthorized", 2),
    ];
    let mut log = Vec::new();
    wait_until("the refused calls counted", WAIT, async || {
        log = calls(&app, id).await;
        let outcomes: Vec<(&str, u64)> = log
            .iter()
            .map(|c| (c["outcome"].as_str().unwrap(), c["count"].as_u64().unwrap()))
            .collect();
        outcomes == expected
    })
    .await;
    assert_eq!(log[0]["caller"], "127.0.0.1");
    assert_eq!(log[0]["last_called_at"], Value::Null);
    assert!(log[1]["last_called_at"].as_str().unwrap() >= log[1]["called_at"].as_str().unwrap());
    assert_eq!(log[0]["event_id"], outputs["event"]["id"]);
}

#[tokio::test]
async fn basic_and_get_triggers_take_form_and_query_and_answer_status() {
    let app = spawn_app_with(&[]).await;
    let trigger = create_trigger(
        &app,
        json!({"name": "deploy", "method": "GET", "response": "status",
               "auth": {"type": "basic", "username": "ci", "password": "ci-pass-123"}}),
    )
    .await;
    assert_eq!(
        trigger["auth"],
        json!({"type": "basic", "username": "ci", "password_set": true})
    );
    let url = trigger["hook_url"].as_str().unwrap();
    let client = reqwest::Client::new();
    let wrong = client
        .get(url)
        .basic_auth("ci", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "unauthorized").await;
    let ok = client
        .get(format!("{url}?version=1.2"))
        .basic_auth("ci", Some("ci-pass-123"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    assert_eq!(
        ok.json::<Value>().await.unwrap(),
        json!({"status": "accepted"})
    );

    let form = create_trigger(
        &app,
        json!({"name": "form", "params": {"CityName": "Paris"}}),
    )
    .await;
    let response = client
        .post(form["hook_url"].as_str().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("CityName=Paris&note=hello+world")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let data = response.json::<Value>().await.unwrap()["data"]["event"]["data"].clone();
    assert_eq!(data, json!({"CityName": "Paris", "note": "hello world"}));

    let unknown = client
        .post(format!("{}/hooks/not-a-slug", app.address))
        .send()
        .await
        .unwrap();
    assert_error(unknown, 404, "not_found").await;
    let big = client
        .post(form["hook_url"].as_str().unwrap())
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_error(big, 413, "payload_too_large").await;
}

#[tokio::test]
async fn triggers_are_edited_and_deleted_and_tokens_need_bearer_auth() {
    let app = spawn_app_with(&[]).await;
    let trigger = create_trigger(&app, json!({"name": "t"})).await;
    let id = trigger["id"].as_str().unwrap();
    let path = format!("/api/triggers/{id}");
    let token = app
        .admin(Method::POST, &format!("{path}/token"), None)
        .await;
    assert_error(token, 409, "conflict").await;
    let patched = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"method": "GET", "params": {"a": "1"}})),
        )
        .await;
    assert_eq!(patched.status(), 204);
    let shown: Value = app
        .admin(Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["data"]["method"], "GET");
    assert_eq!(shown["data"]["params"], json!({"a": "1"}));
    assert_eq!(
        shown["data"]["hook_url"], trigger["hook_url"],
        "edits keep the URL"
    );
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert_error(app.admin(Method::GET, &path, None).await, 404, "not_found").await;
    let gone = reqwest::get(trigger["hook_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_error(gone, 404, "not_found").await;
}

#[tokio::test]
async fn trigger_secrets_are_not_stored_in_plaintext() {
    let app = spawn_app_with(&[]).await;
    let basic = create_trigger(&app, json!({"name": "b", "auth": {"type": "basic", "username": "u", "password": "plain-trigger-pass"}})).await;
    let bearer = create_trigger(&app, json!({"name": "t", "auth": {"type": "bearer"}})).await;
    let response = app
        .admin(
            Method::POST,
            &format!("/api/triggers/{}/token", bearer["id"].as_str().unwrap()),
            None,
        )
        .await;
    let token = response.json::<Value>().await.unwrap()["data"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!basic.to_string().contains("plain-trigger-pass"));
    app.assert_not_stored("plain-trigger-pass").await;
    app.assert_not_stored(&token).await;
}

#[tokio::test]
async fn basic_trigger_passwords_follow_the_user_password_rules() {
    let app = spawn_app_with(&[]).await;
    for password in ["x", "short-pw"] {
        let body = json!({"name": "weak", "auth": {"type": "basic", "username": "u", "password": password}});
        let response = app.admin(Method::POST, "/api/triggers", Some(body)).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"]["auth.password"].is_string(), "{error}");
    }
}

#[tokio::test]
async fn guessing_a_basic_trigger_password_is_throttled_with_the_basic_challenge() {
    let app = spawn_app_with(&[]).await;
    let trigger = create_trigger(
        &app,
        json!({"name": "guarded", "auth": {"type": "basic", "username": "ci", "password": "ci-pass-123"}}),
    )
    .await;
    let url = trigger["hook_url"].as_str().unwrap();
    let client = reqwest::Client::new();
    let first = client
        .post(url)
        .basic_auth("ci", Some("guess-0"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.headers()["www-authenticate"],
        r#"Basic realm="hookhub", charset="UTF-8""#
    );
    let error = assert_error(first, 401, "unauthorized").await;
    assert!(
        error["message"].as_str().unwrap().contains("basic"),
        "{error}"
    );

    let mut statuses = Vec::new();
    for n in 1..200 {
        let guess = format!("guess-{n}");
        let response = client
            .post(url)
            .basic_auth("ci", Some(guess))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let wait: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait));
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "never throttled: {statuses:?}");
    assert!(
        statuses.len() <= 20,
        "{} guesses before a 429",
        statuses.len()
    );
    // While throttled, even the right password waits: a guess that got
    // through would otherwise tell the guesser it was right.
    let right = client
        .post(url)
        .basic_auth("ci", Some("ci-pass-123"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 429);
    let log = calls(&app, trigger["id"].as_str().unwrap()).await;
    assert!(log.iter().any(|call| call["outcome"] == "throttled"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_read_before_any_answer() {
    let app = spawn_app_with(&[]).await;
    let trigger =
        create_trigger(&app, json!({"name": "guarded", "auth": {"type": "bearer"}})).await;
    let id = trigger["id"].as_str().unwrap();
    let token = app
        .admin(Method::POST, &format!("/api/triggers/{id}/token"), None)
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let url = trigger["hook_url"].as_str().unwrap();
    let big = || vec![b' '; 1024 * 1024 + 64 * 1024];
    let client = reqwest::Client::new();
    // Refused for its credentials or its size, the caller reads the answer
    // rather than a broken pipe.
    let unknown = client.post(url).body(big()).send().await.unwrap();
    assert_error(unknown, 401, "unauthorized").await;
    let wrong_method = client.get(url).body(big()).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    let too_large = client
        .post(url)
        .bearer_auth(&token)
        .body(big())
        .send()
        .await
        .unwrap();
    let error = assert_error(too_large, 413, "payload_too_large").await;
    assert!(
        error["message"].as_str().unwrap().contains("MiB"),
        "{error}"
    );
}

#[tokio::test]
async fn null_for_a_trigger_field_is_a_422_naming_it() {
    let app = spawn_app_with(&[]).await;
    let trigger = create_trigger(&app, json!({"name": "t"})).await;
    let path = format!("/api/triggers/{}", trigger["id"].as_str().unwrap());
    for field in ["name", "method", "params", "auth", "event_type", "response"] {
        let patch = app
            .admin(Method::PATCH, &path, Some(json!({ field: null })))
            .await;
        let error = assert_error(patch, 422, "validation_failed").await;
        assert!(error["fields"][field].is_string(), "{field}: {error}");
    }
}
