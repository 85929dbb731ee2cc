//! A JSON extractor whose every rejection is an [`AppError`], so that bad input
//! gets the API's one error shape: malformed JSON 400; a body that is not an
//! object, a key given twice or a wrong field 422 naming the field; too large 413.

use std::cell::RefCell;
use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::AppError;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = crate::events::MAX_EVENT_BYTES;

pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| AppError::from_body(rejection, BODY_LIMIT))?;
        let value = parse_object(&bytes)?;
        from_value(value).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A request body: a JSON object in which no key appears twice.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, AppError> {
    match parse_value(bytes)? {
        Value::Object(object) => Ok(object),
        _ => Err(AppError::field("body", "must be a JSON object")),
    }
}

/// Any JSON value in which no object holds a key twice and no string holds
/// a NUL character. With duplicates, parsers disagree on which one counts
/// (serde keeps the last), so a body that says `"role"` twice is refused
/// rather than guessed at; NUL is refused because PostgreSQL cannot store
/// it in text, and no webhook field needs it: 422 naming the path.
/// Malformed JSON is a 400.
pub fn parse_value(bytes: &[u8]) -> Result<Value, AppError> {
    let problem = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Strict::root(&problem)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, problem.into_inner()) {
        (_, Some((path, problem))) => Err(AppError::field(path, problem)),
        (Err(error), None) => Err(AppError::BadRequest(format!("malformed JSON: {error}"))),
        (Ok(value), None) => Ok(value),
    }
}

/// Reads a typed value out of a JSON object; a mismatch is a 422 naming the
/// field's path, a missing field under its own name.
pub fn from_value<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, AppError> {
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_string(),
            (_, Some(name)) => format!("{path}.{name}"),
            (".", None) => "body".to_string(),
            (_, None) => path,
        };
        let message = match missing {
            Some(_) => "is required".to_string(),
            None => message,
        };
        AppError::field(field, message)
    })
}

/// Builds a `serde_json::Value`, but stops at the first key that an object
/// already holds and notes its path in `duplicate`. The path is kept as a
/// chain of borrowed steps and written out only for a duplicate, so that a
/// large body costs no string per key.
struct Strict<'a> {
    parent: Option<&'a Strict<'a>>,
    step: Step<'a>,
    /// The first problem found: where, and what.
    problem: &'a RefCell<Option<(String, &'static str)>>,
}

/// What a string holding a NUL character is told.
pub const NUL: &str = "must not contain NUL characters";

#[derive(Clone, Copy)]
enum Step<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Strict<'a> {
    fn root(problem: &'a RefCell<Option<(String, &'static str)>>) -> Self {
        Self {
            parent: None,
            step: Step::Root,
            problem,
        }
    }

    fn child(&'a self, step: Step<'a>) -> Self {
        Self {
            parent: Some(self),
            step,
            problem: self.problem,
        }
    }

    /// Notes `problem` here and stops the parse.
    fn refuse<E: de::Error>(&self, problem: &'static str) -> E {
        *self.problem.borrow_mut() = Some((self.path(), problem));
        E::custom(problem)
    }

    fn text<E: de::Error>(&self, text: String) -> Result<Value, E> {
        if text.contains('\0') {
            return Err(self.refuse(NUL));
        }
        Ok(Value::String(text))
    }

    /// `events[1].data.x`.
    fn path(&self) -> String {
        let mut path = self.parent.map(Strict::path).unwrap_or_default();
        match self.step {
            Step::Root => {}
            Step::Key(key) if path.is_empty() => path.push_str(key),
            Step::Key(key) => {
                path.push('.');
                path.push_str(key);
            }
            Step::Index(index) => path.push_str(&format!("[{index}]")),
        }
        path
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(value.into())
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(value.into())
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        self.text(value.to_string())
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        self.text(value)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child(Step::Index(items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(self.child(Step::Key(&key)).refuse("appears more than once"));
            }
            if key.contains('\0') {
                return Err(self.child(Step::Key(&key)).refuse(NUL));
            }
            let value = map.next_value_seed(self.child(Step::Key(&key)))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(error: AppError) -> String {
        match error {
            AppError::Validation(fields) => fields.into_keys().collect::<Vec<_>>().join(","),
            other => panic!("a validation error expected, got {other:?}"),
        }
    }

    #[test]
    fn a_key_given_twice_is_refused_by_its_path() {
        let error = parse_object(br#"{"role": "viewer", "role": "admin"}"#).unwrap_err();
        assert_eq!(field_of(error), "role");
        let nested = parse_object(br#"{"auth": {"type": "basic", "type": "none"}}"#).unwrap_err();
        assert_eq!(field_of(nested), "auth.type");
        let in_list = parse_object(br#"{"events": [{"a": 1}, {"a": 1, "a": 2}]}"#).unwrap_err();
        assert_eq!(field_of(in_list), "events[1].a");
    }

    #[test]
    fn a_nul_character_is_refused_where_it_is() {
        let error = parse_object(br#"{"auth": {"username": "a\u0000b"}}"#).unwrap_err();
        assert_eq!(field_of(error), "auth.username");
        let in_key = parse_object(br#"{"data": {"a\u0000": 1}}"#).unwrap_err();
        assert_eq!(field_of(in_key), "data.a\u{0}");
    }

    #[test]
    fn only_objects_are_bodies() {
        for body in [&b"[]"[..], b"[\"name\"]", b"\"x\"", b"1", b"null"] {
            assert_eq!(field_of(parse_object(body).unwrap_err()), "body");
        }
        assert!(matches!(parse_object(b"{"), Err(AppError::BadRequest(_))));
        assert!(matches!(
            parse_object(b"{} x"),
            Err(AppError::BadRequest(_))
        ));
        let object = parse_object(br#"{"a": [1, 2.5, null, true], "b": {"c": "d"}}"#).unwrap();
        assert_eq!(
            Value::Object(object),
            serde_json::json!({"a": [1, 2.5, null, true], "b": {"c": "d"}})
        );
    }

    #[test]
    fn a_missing_field_is_named_itself() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Login {
            username: String,
            password: String,
        }
        let object = parse_object(br#"{"username": "a"}"#).unwrap();
        assert_eq!(
            field_of(from_value::<Login>(object).unwrap_err()),
            "password"
        );
    }
}
