//! The built-in object store: an object's change, its event and the
//! deliveries the event queues are written in one transaction.

use serde_json::{Map, Value};

use crate::model::EventAccepted;

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
