//! Wrong credentials slow down the caller that gives them, on that account
//! and from that address, with waits that grow; they never lock out the
//! right credentials from another address. Each test's callers are told
//! apart by the loopback address they send from (127.0.0.2, 127.0.0.3, …).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PASSWORD, TestApp, assert_error, beside, postgres_database_if_any, spawn_app, spawn_on,
};

/// A client that sends from 127.0.0.`n`.
fn caller(n: u8) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

async fn login(app: &TestApp, from: &Client, username: &str, password: &str) -> Response {
    let body = json!({"username": username, "password": password});
    let url = app.url("/api/session");
    from.post(url).json(&body).send().await.unwrap()
}

/// The `Retry-After` of a 429, in seconds.
async fn retry_after(response: Response) -> u64 {
    let wait = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_error(response, 429, "too_many_requests").await;
    wait
}

async fn wrong_logins(app: &TestApp, from: &Client, username: &str, times: usize) {
    for n in 0..times {
        let wrong = login(app, from, username, &format!("wrong-{n}")).await;
        assert_error(wrong, 401, "invalid_credentials").await;
    }
}

#[tokio::test]
async fn a_guesser_waits_longer_each_time_but_never_locks_the_right_password_out() {
    let app = spawn_app().await;
    let guesser = caller(2);
    wrong_logins(&app, &guesser, "admin", 5).await;

    // The guesser waits, even with the right password: a guess that got
    // through would tell it that it was right.
    let first_wait = retry_after(login(&app, &guesser, "admin", "wrong-5").await).await;
    assert!((1..=2).contains(&first_wait), "{first_wait}");
    let right = login(&app, &guesser, "admin", ADMIN_PASSWORD).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);

    // The administrator, from a clean address, goes straight in.
    let admin = caller(3);
    let right = login(&app, &admin, "admin", ADMIN_PASSWORD).await;
    assert_eq!(right.status(), StatusCode::OK);

    // After its wait, the guesser gets one more guess, then waits longer.
    tokio::time::sleep(Duration::from_secs(first_wait)).await;
    wrong_logins(&app, &guesser, "admin", 1).await;
    let second_wait = retry_after(login(&app, &guesser, "admin", "wrong-7").await).await;
    assert!(second_wait > first_wait, "{second_wait} after {first_wait}");

    // Another username from the guesser's address is not held up (its
    // address has failed 6 times, fewer than an address gets free).
    let other = login(&app, &guesser, "nobody", "wrong").await;
    assert_error(other, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn failures_from_many_addresses_do_not_lock_an_account() {
    let app = spawn_app().await;
    for n in 2..=9 {
        wrong_logins(&app, &caller(n), "admin", 5).await;
    }
    // 40 wrong passwords for `admin` from eight addresses: the ninth logs in.
    let right = login(&app, &caller(10), "admin", ADMIN_PASSWORD).await;
    assert_eq!(right.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_address_trying_many_usernames_slows_down() {
    let app = spawn_app().await;
    let sprayer = caller(11);
    let mut refused = None;
    for n in 0..30 {
        let response = login(&app, &sprayer, &format!("user{n}"), "wrong-password").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(n);
            break;
        }
        assert_error(response, 401, "invalid_credentials").await;
    }
    assert_eq!(refused, Some(20), "an address gets 20 failures free");
    // Someone else, elsewhere, is not slowed by it.
    let right = login(&app, &caller(12), "admin", ADMIN_PASSWORD).await;
    assert_eq!(right.status(), StatusCode::OK);
}

async fn bearer_trigger(app: &TestApp) -> (String, String) {
    let created = app
        .admin(
            reqwest::Method::POST,
            "/api/triggers",
            Some(json!({"name": "partner", "auth": {"type": "bearer"}})),
        )
        .await;
    assert_eq!(created.status(), 201);
    let trigger: Value = created.json::<Value>().await.unwrap()["data"].clone();
    let id = trigger["id"].as_str().unwrap();
    let path = format!("/api/triggers/{id}/token");
    let token = app.admin(reqwest::Method::POST, &path, None).await;
    let token = token.json::<Value>().await.unwrap()["data"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    (trigger["hook_url"].as_str().unwrap().to_string(), token)
}

#[tokio::test]
async fn wrong_trigger_tokens_slow_their_sender_only() {
    let app = spawn_app().await;
    let (url, token) = bearer_trigger(&app).await;
    let call = async |from: &Client, token: &str| {
        from.post(&url)
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
    };
    let guesser = caller(13);
    for n in 0..5 {
        let wrong = call(&guesser, &format!("guess-{n}")).await;
        assert_error(wrong, 401, "unauthorized").await;
    }
    retry_after(call(&guesser, "guess-5").await).await;
    assert_eq!(
        call(&guesser, &token).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The real partner, from its own address, is not held up.
    let partner = caller(14);
    assert_eq!(call(&partner, &token).await.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn instances_on_one_database_share_the_counts() {
    let Some(url) = postgres_database_if_any().await else {
        return;
    };
    let first = spawn_on(url).await;
    let second = beside(&first).await;
    let guesser = caller(15);
    wrong_logins(&first, &guesser, "admin", 3).await;
    wrong_logins(&second, &guesser, "admin", 2).await;
    // Five failures over two instances: the next attempt waits, on either.
    for app in [&first, &second] {
        let next = login(app, &guesser, "admin", ADMIN_PASSWORD).await;
        assert_eq!(next.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let clean = login(&second, &caller(16), "admin", ADMIN_PASSWORD).await;
    assert_eq!(clean.status(), StatusCode::OK);
}
