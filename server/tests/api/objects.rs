use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app_with};
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(10);

async fn app_and_receiver(events: Value) -> (TestApp, Receiver) {
    let app = spawn_app_with(&["--allow-private-targets"]).await;
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"name": "r", "url": receiver.url, "events": events}))
        .await;
    (app, receiver)
}

async fn create(app: &TestApp, module: &str, object: Value) -> Value {
    let response = app
        .admin(
            Method::POST,
            &format!("/api/objects/{module}"),
            Some(object),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["data"].clone()
}

#[tokio::test]
async fn creating_an_object_delivers_the_full_object() {
    let (app, receiver) = app_and_receiver(json!(["ticket.create"])).await;
    let ticket = create(
        &app,
        "ticket",
        json!({"title": "Printer on fire", "priority": 1}),
    )
    .await;
    assert!(ticket["id"].as_str().unwrap().starts_with("obj_"));

    let body = receiver.wait_for(1, WAIT).await[0].json();
    assert_eq!(body["type"], "ticket.create");
    assert_eq!(body["data"], ticket);
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(body.get("changed_fields").is_none());
}

#[tokio::test]
async fn an_update_delivers_the_object_with_its_changed_fields_and_previous_values() {
    let (app, receiver) = app_and_receiver(json!(["ticket.update"])).await;
    let ticket = create(&app, "ticket", json!({"title": "Printer", "state": "open"})).await;
    let path = format!("/api/objects/ticket/{}", ticket["id"].as_str().unwrap());
    let response = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"state": "closed", "owner": "kim"})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let merged = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(merged["state"], "closed");
    assert_eq!(merged["title"], "Printer");

    let body = receiver.wait_for(1, WAIT).await[0].json();
    assert_eq!(body["type"], "ticket.update");
    assert_eq!(body["data"], merged);
    assert_eq!(body["changed_fields"], json!(["state", "owner"]));
    assert_eq!(body["previous"], json!({"state": "open", "owner": null}));
}

#[tokio::test]
async fn a_delete_delivers_the_object_as_it_was() {
    let (app, receiver) = app_and_receiver(json!(["ticket.delete"])).await;
    let ticket = create(&app, "ticket", json!({"title": "Old"})).await;
    let path = format!("/api/objects/ticket/{}", ticket["id"].as_str().unwrap());
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert_error(app.admin(Method::GET, &path, None).await, 404, "not_found").await;

    let body = receiver.wait_for(1, WAIT).await[0].json();
    assert_eq!(body["type"], "ticket.delete");
    assert_eq!(body["data"], ticket);
}

#[tokio::test]
async fn objects_are_read_back_and_listed_page_by_page() {
    let app = spawn_app_with(&[]).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create(&app, "unit", json!({"n": n})).await["id"].clone());
    }
    let one = app
        .admin(
            Method::GET,
            &format!("/api/objects/unit/{}", ids[0].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(one.json::<Value>().await.unwrap()["data"]["n"], 0);

    let mut seen = Vec::new();
    let mut path = "/api/objects/unit?limit=2".to_string();
    loop {
        let page: Value = app
            .admin(Method::GET, &path, None)
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/objects/unit?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn bad_modules_and_bodies_are_refused_and_fire_nothing() {
    let (app, receiver) = app_and_receiver(json!(["*"])).await;
    for (path, body, field) in [
        ("/api/objects/Tickets", json!({"a": 1}), "module"),
        ("/api/objects/ticket", json!({"id": "mine"}), "id"),
        ("/api/objects/ticket", json!([1, 2]), "body"),
    ] {
        let response = app.admin(Method::POST, path, Some(body)).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"].get(field).is_some(), "{error}");
    }
    assert_error(
        app.admin(
            Method::PATCH,
            "/api/objects/ticket/obj_missing",
            Some(json!({"a": 1})),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // A later event still arrives first and alone: nothing was queued before it.
    app.publish("probe.ping", json!({})).await;
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received[0].json()["type"], "probe.ping");
    assert_eq!(receiver.received().len(), 1);
}
