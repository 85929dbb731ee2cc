//! `GET`/`POST /hooks/{slug}`: outside systems start a fan-out. The request's
//! query and body become an event of the trigger's type.

use std::net::SocketAddr;

use api::{Data, TriggerOutputs, TriggeredEvent};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::AppState;
use super::auth::authorization;
use super::json::Json;
use super::params::{Path, decoded_pairs};
use super::throttle::{self, Key};
use crate::error::{AppError, FieldErrors, Scheme};
use crate::model::TriggerResponse;
use crate::security::inbound;
use crate::store::{NewEvent, Trigger, TriggerAuth};
use crate::time::now_ms;

/// Trigger calls carry small payloads; larger bodies get 413. Smaller than
/// the API's 10 MiB on purpose: a trigger URL is open to the outside (with
/// `auth: none`, to anyone who has it), and every call's body is read before
/// it is answered.
pub const HOOK_BODY_LIMIT: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/{slug}", any(call))
        .layer(DefaultBodyLimit::max(HOOK_BODY_LIMIT))
}

/// Why a call was refused, for the trigger's call log.
fn outcome_of(error: &AppError) -> &'static str {
    match error {
        AppError::Unauthorized(_) | AppError::BadSignature(_) => "unauthorized",
        AppError::TooManyRequests { .. } => "throttled",
        AppError::MethodNotAllowed => "method_not_allowed",
        AppError::PayloadTooLarge { .. } => "too_large",
        _ => "invalid",
    }
}

#[utoipa::path(
    method(get, post), operation_id = "call_trigger",
    path = "/hooks/{slug}",
    tag = "triggers",
    params(("slug" = String, Path, description = "The trigger's secret part of its URL")),
    security(()),
    description = "Takes the trigger's own credentials (none, `Basic` or `Bearer`), \
                   its method only, a query string and a JSON or form body whose fields \
                   become the event's data.",
    responses(
        (status = 202, description = "Accepted: the event and its deliveries, or `{\"status\": \"accepted\"}`", body = Answer),
        (status = 401, description = "Wrong or missing credentials", body = api::ErrorBody),
        (status = 404, description = "No such trigger", body = api::ErrorBody),
        (status = 405, description = "Not the trigger's method; `Allow` names it", body = api::ErrorBody),
        (status = 413, description = "A body over 1 MiB", body = api::ErrorBody),
        (status = 422, description = "A required parameter is missing or differs", body = api::ErrorBody),
        (status = 429, description = "Too many wrong credentials", body = api::ErrorBody),
    )
)]
pub async fn call(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    // Read (up to the limit) before anything is answered, so that a caller
    // still sending its body reads the answer, not a broken pipe.
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let call = Call {
        method,
        query: uri.query().unwrap_or_default(),
        headers,
        body: body.map_err(|rejection| AppError::from_body(rejection, HOOK_BODY_LIMIT)),
    };
    let Some(trigger) = state.store.trigger_by_slug(&slug).await? else {
        state.metrics.trigger_call("unknown_trigger");
        return Err(AppError::NotFound("trigger"));
    };
    let caller = address.ip().to_string();
    match accept(&state, &trigger, &caller, call).await {
        Ok(response) => {
            state.metrics.trigger_call("accepted");
            Ok(response)
        }
        Err(error) => {
            let status = error.status();
            let outcome = outcome_of(&error);
            state.metrics.trigger_call(outcome);
            let reason = match &error {
                AppError::BadSignature(reason) => Some(reason.as_str()),
                _ => None,
            };
            state
                .call_log
                .refused(
                    &state.store,
                    &trigger.id,
                    &caller,
                    outcome,
                    status.as_u16(),
                    reason,
                )
                .await?;
            let mut response = error.into_response();
            if status == StatusCode::METHOD_NOT_ALLOWED {
                let allow = header::HeaderValue::from_static(trigger.settings.method.as_str());
                response.headers_mut().insert(header::ALLOW, allow);
            }
            Ok(response)
        }
    }
}

/// A call of a trigger URL as it came.
struct Call<'a> {
    method: Method,
    query: &'a str,
    headers: HeaderMap,
    body: Result<Bytes, AppError>,
}

async fn accept(
    state: &AppState,
    trigger: &Trigger,
    caller: &str,
    call: Call<'_>,
) -> Result<Response, AppError> {
    let settings = &trigger.settings;
    if call.method.as_str() != settings.method.as_str() {
        return Err(AppError::MethodNotAllowed);
    }
    let body = match &settings.auth {
        // Signed over the body: it must have come whole first.
        TriggerAuth::Signature { .. } => {
            let body = call.body?;
            check_credentials(state, trigger, caller, &call.headers, &body).await?;
            body
        }
        _ => {
            check_credentials(state, trigger, caller, &call.headers, &[]).await?;
            call.body?
        }
    };
    let data = call_data(call.query, &body, is_form(&call.headers))?;
    check_params(&settings.params, &data)?;

    let event = NewEvent {
        event_type: settings.event_type.clone(),
        data: Value::Object(data.clone()),
        change: None,
        idempotency_key: None,
        ordering_key: None,
        about_webhook: None,
    };
    let enqueued = state
        .store
        .accept_trigger_call(&trigger.id, caller, event, StatusCode::ACCEPTED.as_u16())
        .await?;
    if !enqueued.deliveries.is_empty() {
        state.deliverer.wake();
    }
    let answer = if settings.response == TriggerResponse::Status {
        Answer::Status {
            status: "accepted".into(),
        }
    } else {
        Answer::Outputs(Data {
            data: TriggerOutputs {
                event: TriggeredEvent {
                    id: enqueued.event_id,
                    event_type: settings.event_type.clone(),
                    data: Value::Object(data),
                },
                deliveries: enqueued.deliveries.into_iter().map(Into::into).collect(),
            },
        })
    };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// A call's answer, by the trigger's `response`: the event and its
/// deliveries, or only that it was accepted.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum Answer {
    Outputs(Data<TriggerOutputs>),
    Status { status: String },
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The caller's credentials. Wrong ones slow that caller down on this
/// trigger (and on every account, from its address): 429 while it must wait
/// (see `throttle`), however right the credentials are, so that a guess never
/// learns it was right while it should be waiting.
async fn check_credentials(
    state: &AppState,
    trigger: &Trigger,
    caller: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), AppError> {
    let auth = &trigger.settings.auth;
    if matches!(auth, TriggerAuth::None) {
        return Ok(());
    }
    let keys = [Key::trigger(&trigger.id, caller), Key::address(caller)];
    let (wait, struck) = throttle::waiting(&state.store, &keys).await?;
    if let Some(wait) = wait {
        return Err(AppError::too_many(wait));
    }
    if let Some(refused) = refusal(state, auth, headers, body)? {
        throttle::failed(&state.store, &keys).await?;
        return Err(refused);
    }
    if struck {
        let [pair, _] = keys;
        throttle::succeeded(&state.store, &[pair], &[]).await?;
    }
    Ok(())
}

/// Checks the caller's credentials in constant time: the error to answer
/// when they do not hold. A signature is checked over the raw `body`.
fn refusal(
    state: &AppState,
    auth: &TriggerAuth,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<AppError>, AppError> {
    let holds = match auth {
        TriggerAuth::None => true,
        TriggerAuth::Bearer { token } => match (token, authorization(headers, "Bearer")) {
            (Some(hash), Some(presented)) => hash.matches(presented),
            _ => false,
        },
        TriggerAuth::Basic { username, password } => {
            match authorization(headers, "Basic").and_then(basic_credentials) {
                Some((user, pass)) => {
                    let expected = state.cipher.open(&password.0)?;
                    // Both compared, always: the time taken does not tell which was wrong.
                    let user_ok = user.as_bytes().ct_eq(username.as_bytes());
                    let pass_ok = pass.as_bytes().ct_eq(expected.as_bytes());
                    (user_ok & pass_ok).into()
                }
                None => false,
            }
        }
        TriggerAuth::Signature { scheme, secret } => {
            let secret = state.cipher.open(&secret.0)?;
            let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
            let now = now_ms() / 1000;
            return Ok(inbound::verify(scheme, &secret, header, body, now)
                .err()
                .map(|refused| AppError::BadSignature(refused.to_string())));
        }
    };
    Ok((!holds).then(|| {
        AppError::Unauthorized(match auth {
            TriggerAuth::Basic { .. } => Scheme::Basic,
            _ => Scheme::Bearer,
        })
    }))
}

/// `base64(user:password)` → (user, password).
fn basic_credentials(encoded: &str) -> Option<(String, String)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The query's parameters, then the body's fields over them: a JSON object,
/// a form, or any other JSON under `body`.
pub fn call_data(query: &str, body: &[u8], form: bool) -> Result<Map<String, Value>, AppError> {
    let as_data = |pairs: Vec<(String, String)>| {
        pairs
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
    };
    let mut data: Map<String, Value> = as_data(decoded_pairs(query.as_bytes())?).collect();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(data);
    }
    if form {
        data.extend(as_data(decoded_pairs(body)?));
        return Ok(data);
    }
    match super::json::parse_value(body)? {
        Value::Object(fields) => data.extend(fields),
        other => {
            data.insert("body".into(), other);
        }
    }
    Ok(data)
}

/// Every required parameter present with its required value.
pub fn check_params(
    required: &std::collections::BTreeMap<String, String>,
    data: &Map<String, Value>,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    for (name, wanted) in required {
        let given = match data.get(name) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        match given {
            Some(value) if value == *wanted => {}
            Some(_) => {
                errors.insert(name.clone(), format!("must be \"{wanted}\""));
            }
            None => {
                errors.insert(name.clone(), format!("is required (\"{wanted}\")"));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn query_and_body_merge_with_the_body_winning() {
        let data = call_data(
            "CityName=Paris&units=metric",
            br#"{"units": "imperial", "n": 2}"#,
            false,
        )
        .unwrap();
        assert_eq!(
            Value::Object(data),
            json!({"CityName": "Paris", "units": "imperial", "n": 2})
        );
        let form = call_data("", b"CityName=Paris&x=1", true).unwrap();
        assert_eq!(Value::Object(form), json!({"CityName": "Paris", "x": "1"}));
        let array = call_data("", b"[1, 2]", false).unwrap();
        assert_eq!(Value::Object(array), json!({"body": [1, 2]}));
        assert!(call_data("", b"{nope", false).is_err());
        for (query, body, form) in [("x=a%00", &b""[..], false), ("", b"x=%00", true)] {
            let refused = call_data(query, body, form).unwrap_err();
            assert!(matches!(&refused, AppError::Validation(fields) if fields.contains_key("x")));
        }
        assert!(matches!(
            call_data("", br#"{"a": 1, "a": 2}"#, false),
            Err(AppError::Validation(_))
        ));
    }

    #[test]
    fn required_params_must_match_exactly() {
        let required =
            std::collections::BTreeMap::from([("CityName".to_string(), "Paris".to_string())]);
        let with = |value: Value| json!({ "CityName": value }).as_object().unwrap().clone();
        assert!(check_params(&required, &with(json!("Paris"))).is_ok());
        assert!(check_params(&required, &with(json!("paris"))).is_err());
        assert!(check_params(&required, &Map::new()).is_err());
        let numeric = std::collections::BTreeMap::from([("n".to_string(), "2".to_string())]);
        assert!(check_params(&numeric, &json!({"n": 2}).as_object().unwrap().clone()).is_ok());
    }

    #[test]
    fn basic_credentials_are_read_from_the_header() {
        assert_eq!(basic_credentials("dTpw"), Some(("u".into(), "p".into())));
        assert_eq!(basic_credentials("!!!"), None);
    }
}
