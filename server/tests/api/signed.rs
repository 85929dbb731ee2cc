//! Triggers that senders call directly, signing the raw body as GitHub,
//! Stripe, Shopify, Standard Webhooks or any HMAC sender does: a good
//! signature fans out like any call, a bad one is a 401 kept only in the
//! call log, with the reason; the secret is sealed and never shown.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, assert_error, spawn_app_with, wait_for};
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(10);

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    parts.iter().for_each(|part| mac.update(part));
    mac.finalize().into_bytes().to_vec()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn signed_trigger(app: &TestApp, auth: Value) -> Value {
    let response = app
        .admin(
            Method::POST,
            "/api/triggers",
            Some(json!({"name": "from a sender", "event_type": "sender.push", "auth": auth})),
        )
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    response.json::<Value>().await.unwrap()["data"].clone()
}

async fn post(url: &str, headers: &[(&str, String)], body: &'static str) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

async fn calls(app: &TestApp, trigger: &Value) -> Vec<Value> {
    let path = format!("/api/triggers/{}/calls", trigger["id"].as_str().unwrap());
    app.admin_json(&path).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_github_call_with_a_good_signature_fans_out_and_a_tampered_one_is_refused() {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"name": "sink", "url": receiver.url, "events": ["sender.*"]}))
        .await;
    let secret = "a github secret";
    let trigger = signed_trigger(
        &app,
        json!({"type": "signature", "scheme": "github", "secret": secret}),
    )
    .await;
    assert_eq!(
        trigger["auth"],
        json!({"type": "signature", "scheme": "github", "secret_set": true})
    );
    app.assert_not_stored(secret).await;
    let url = trigger["hook_url"].as_str().unwrap();
    let body = r#"{"ref": "refs/heads/main"}"#;
    let signature = format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &[body.as_bytes()]))
    );

    let accepted = post(url, &[("X-Hub-Signature-256", signature.clone())], body).await;
    assert_eq!(accepted.status(), 202);
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received[0].json()["data"]["ref"], "refs/heads/main");

    let tampered = post(
        url,
        &[("X-Hub-Signature-256", signature)],
        r#"{"ref": "refs/heads/evil"}"#,
    )
    .await;
    let error = assert_error(tampered, 401, "unauthorized").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{error}"
    );
    let unsigned = post(url, &[], body).await;
    assert_error(unsigned, 401, "unauthorized").await;

    // Refused alike within a minute: one entry, counted (every 2 s).
    let refused = wait_for("both refusals counted", WAIT, async || {
        let logged = calls(&app, &trigger).await;
        let refused: Vec<Value> = logged
            .into_iter()
            .filter(|c| c["outcome"] == "unauthorized")
            .collect();
        (refused.len() == 1 && refused[0]["count"] == 2).then(|| refused[0].clone())
    })
    .await;
    assert_eq!(refused["reason"], "the signature does not match the body");
    app.settled().await;
    assert_eq!(receiver.count(), 1, "nothing of a refused call goes out");
}

#[tokio::test]
async fn stripe_and_standard_webhooks_refuse_an_old_timestamp() {
    let app = spawn_app_with(&[]).await;
    let body = r#"{"id": "evt_1", "object": "event"}"#;

    let stripe_secret = "whsec_stripe_example_secret";
    let stripe = signed_trigger(
        &app,
        json!({"type": "signature", "scheme": "stripe", "secret": stripe_secret}),
    )
    .await;
    let stripe_header = |t: i64| {
        let signed = format!("{t}.{body}");
        let v1 = hex::encode(hmac_sha256(stripe_secret.as_bytes(), &[signed.as_bytes()]));
        vec![("Stripe-Signature", format!("t={t},v1={v1}"))]
    };
    let url = stripe["hook_url"].as_str().unwrap();
    assert_eq!(post(url, &stripe_header(now()), body).await.status(), 202);
    let old = post(url, &stripe_header(now() - 3600), body).await;
    assert_error(old, 401, "unauthorized").await;
    let logged = calls(&app, &stripe).await;
    assert!(
        logged.iter().any(|c| c["reason"]
            .as_str()
            .is_some_and(|r| r.contains("5 minutes"))),
        "{logged:?}"
    );

    let key = [7u8; 24];
    let standard_secret = format!("whsec_{}", BASE64.encode(key));
    let standard = signed_trigger(
        &app,
        json!({"type": "signature", "scheme": "standard", "secret": standard_secret}),
    )
    .await;
    let standard_headers = |t: i64| {
        let signed = format!("msg_1.{t}.{body}");
        let signature = BASE64.encode(hmac_sha256(&key, &[signed.as_bytes()]));
        vec![
            ("webhook-id", "msg_1".to_string()),
            ("webhook-timestamp", t.to_string()),
            ("webhook-signature", format!("v1,{signature}")),
        ]
    };
    let url = standard["hook_url"].as_str().unwrap();
    assert_eq!(
        post(url, &standard_headers(now()), body).await.status(),
        202
    );
    assert_error(
        post(url, &standard_headers(now() - 600), body).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn shopify_and_a_generic_hmac_sign_the_body_alone() {
    let app = spawn_app_with(&[]).await;
    let body = r#"{"id": 820982911946154508}"#;
    let shopify = signed_trigger(
        &app,
        json!({"type": "signature", "scheme": "shopify", "secret": "shpss_secret"}),
    )
    .await;
    let signature = BASE64.encode(hmac_sha256(b"shpss_secret", &[body.as_bytes()]));
    let url = shopify["hook_url"].as_str().unwrap();
    assert_eq!(
        post(url, &[("X-Shopify-Hmac-Sha256", signature)], body)
            .await
            .status(),
        202
    );

    let generic = signed_trigger(
        &app,
        json!({"type": "signature", "scheme": "hmac", "secret": "s3cret", "header": "X-Signature"}),
    )
    .await;
    assert_eq!(
        generic["auth"],
        json!({"type": "signature", "scheme": "hmac", "header": "X-Signature",
               "algorithm": "sha256", "encoding": "hex", "secret_set": true})
    );
    let signature = hex::encode(hmac_sha256(b"s3cret", &[body.as_bytes()]));
    let url = generic["hook_url"].as_str().unwrap();
    assert_eq!(
        post(url, &[("X-Signature", signature.clone())], body)
            .await
            .status(),
        202
    );
    assert_error(
        post(url, &[("X-Signature", signature)], r#"{"id": 1}"#).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn a_signature_auth_is_checked_when_written_and_keeps_its_secret_on_edits() {
    let app = spawn_app_with(&[]).await;
    for (auth, field) in [
        (
            json!({"type": "signature", "scheme": "github"}),
            "auth.secret",
        ),
        (
            json!({"type": "signature", "scheme": "standard", "secret": "not-whsec"}),
            "auth.secret",
        ),
        (
            json!({"type": "signature", "scheme": "hmac", "secret": "s"}),
            "auth.header",
        ),
        (
            json!({"type": "signature", "scheme": "gitlab", "secret": "s"}),
            "auth",
        ),
    ] {
        let response = app
            .admin(
                Method::POST,
                "/api/triggers",
                Some(json!({"name": "x", "auth": auth})),
            )
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"].get(field).is_some(), "{auth}: {error}");
    }

    let secret = "kept secret";
    let trigger = signed_trigger(
        &app,
        json!({"type": "signature", "scheme": "github", "secret": secret}),
    )
    .await;
    let path = format!("/api/triggers/{}", trigger["id"].as_str().unwrap());
    let renamed = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"name": "renamed", "auth": {"type": "signature", "scheme": "github"}})),
        )
        .await;
    assert_eq!(renamed.status(), 204, "{:?}", renamed.text().await);
    let body = r#"{"a": 1}"#;
    let signature = format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &[body.as_bytes()]))
    );
    let url = trigger["hook_url"].as_str().unwrap();
    assert_eq!(
        post(url, &[("X-Hub-Signature-256", signature)], body)
            .await
            .status(),
        202
    );
}
