//! The built-in object store's rules: what an update changes.

use serde_json::{Map, Value};

/// The result of applying a patch to an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub object: Map<String, Value>,
    /// Top-level fields whose value differs, in the object's order.
    pub changed_fields: Vec<String>,
    /// Their values before (`null` where a field did not exist).
    pub previous: Map<String, Value>,
}

/// JSON Merge Patch (RFC 7396): objects merge recursively, `null` removes a
/// field, anything else replaces it. `id` cannot be changed.
pub fn apply_patch(old: &Map<String, Value>, patch: Map<String, Value>) -> Change {
    let mut object = old.clone();
    for (key, value) in patch {
        if key == "id" {
            continue;
        }
        merge_field(&mut object, key, value);
    }
    let mut changed_fields = Vec::new();
    let mut previous = Map::new();
    let keys = old
        .keys()
        .chain(object.keys().filter(|k| !old.contains_key(*k)));
    for key in keys {
        if old.get(key) != object.get(key) {
            changed_fields.push(key.clone());
            previous.insert(key.clone(), old.get(key).cloned().unwrap_or(Value::Null));
        }
    }
    Change {
        object,
        changed_fields,
        previous,
    }
}

fn merge_field(target: &mut Map<String, Value>, key: String, value: Value) {
    match value {
        Value::Null => {
            target.remove(&key);
        }
        Value::Object(patch) => {
            let mut inner = match target.remove(&key) {
                Some(Value::Object(existing)) => existing,
                _ => Map::new(),
            };
            for (k, v) in patch {
                merge_field(&mut inner, k, v);
            }
            target.insert(key, Value::Object(inner));
        }
        other => {
            target.insert(key, other);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn an_update_reports_what_changed_and_what_it_was() {
        let old =
            map(json!({"id": "obj_1", "title": "Printer", "state": "open", "tags": {"a": 1}}));
        let change = apply_patch(
            &old,
            map(json!({"state": "closed", "title": "Printer", "owner": "kim"})),
        );
        assert_eq!(change.changed_fields, ["state", "owner"]);
        assert_eq!(
            change.previous,
            map(json!({"state": "open", "owner": null}))
        );
        assert_eq!(change.object["state"], "closed");
        assert_eq!(change.object["tags"], json!({"a": 1}));
    }

    #[test]
    fn null_removes_and_objects_merge() {
        let old = map(json!({"id": "obj_1", "a": 1, "nested": {"x": 1, "y": 2}}));
        let change = apply_patch(&old, map(json!({"a": null, "nested": {"y": null, "z": 3}})));
        assert_eq!(
            change.object,
            map(json!({"id": "obj_1", "nested": {"x": 1, "z": 3}}))
        );
        assert_eq!(change.changed_fields, ["a", "nested"]);
    }

    #[test]
    fn the_id_cannot_change() {
        let old = map(json!({"id": "obj_1"}));
        let change = apply_patch(&old, map(json!({"id": "obj_2"})));
        assert_eq!(change.object["id"], "obj_1");
        assert!(change.changed_fields.is_empty());
    }
}
