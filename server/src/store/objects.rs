//! The built-in object store: an object's change, its event and the
//! deliveries the event queues are written in one transaction.

use anyhow::Context;
use serde_json::{Map, Value};

use super::NewEvent;
use crate::model::EventAccepted;
use crate::objects::{Change, apply_patch};

/// What `update_object` did.
pub enum Updated {
    Missing,
    Unchanged(Map<String, Value>),
    Changed(Map<String, Value>, EventAccepted),
}

#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores a new object (given without `id`) and fires `{module}.create`.
    async fn create_object(
        &self,
        module: &str,
        data: Map<String, Value>,
    ) -> anyhow::Result<(Map<String, Value>, EventAccepted)>;

    async fn object(&self, module: &str, id: &str) -> anyhow::Result<Option<Map<String, Value>>>;

    /// A page of a module's objects in id (creation) order, after `cursor`.
    async fn objects(
        &self,
        module: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<Map<String, Value>>>;

    /// Merges `patch` into an object and fires `{module}.update` if anything changed.
    async fn update_object(
        &self,
        module: &str,
        id: &str,
        patch: Map<String, Value>,
    ) -> anyhow::Result<Updated>;

    /// Deletes an object and fires `{module}.delete` with it as it was; `None` if missing.
    async fn delete_object(&self, module: &str, id: &str) -> anyhow::Result<Option<EventAccepted>>;
}

/// An object as stored: its JSON text.
pub(super) fn parse_object(stored: &str) -> anyhow::Result<Map<String, Value>> {
    serde_json::from_str(stored).context("stored object")
}

/// The event a new object fires.
pub(super) fn created(module: &str, object: &Map<String, Value>) -> NewEvent {
    NewEvent {
        event_type: format!("{module}.create"),
        data: Value::Object(object.clone()),
        change: None,
        idempotency_key: None,
        ordering_key: ordering_key(module, object),
        about_webhook: None,
    }
}

/// An object's events are ordered by `{module}/{id}` (`ticket/42`).
fn ordering_key(module: &str, object: &Map<String, Value>) -> Option<String> {
    match object.get("id")? {
        Value::String(id) => Some(format!("{module}/{id}")),
        id => Some(format!("{module}/{id}")),
    }
}

/// The event a deleted object fires, with it as it was stored.
pub(super) fn deleted(module: &str, stored: &str) -> anyhow::Result<NewEvent> {
    let object = parse_object(stored)?;
    Ok(NewEvent {
        event_type: format!("{module}.delete"),
        ordering_key: ordering_key(module, &object),
        data: Value::Object(object),
        change: None,
        idempotency_key: None,
        about_webhook: None,
    })
}

/// An object as stored, once patched.
pub(super) enum Patched {
    Unchanged(Map<String, Value>),
    /// The object to store and the event it fires.
    Changed(Map<String, Value>, NewEvent),
}

pub(super) fn patched(
    module: &str,
    stored: &str,
    patch: Map<String, Value>,
) -> anyhow::Result<Patched> {
    let Change {
        object,
        changed_fields,
        previous,
    } = apply_patch(&parse_object(stored)?, patch);
    if changed_fields.is_empty() {
        return Ok(Patched::Unchanged(object));
    }
    let event = NewEvent {
        event_type: format!("{module}.update"),
        data: Value::Object(object.clone()),
        change: Some((changed_fields, previous)),
        idempotency_key: None,
        ordering_key: ordering_key(module, &object),
        about_webhook: None,
    };
    Ok(Patched::Changed(object, event))
}
