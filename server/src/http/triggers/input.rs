//! From what a client wrote (`TriggerIn`) to validated settings.

use std::collections::BTreeMap;

use api::{AuthIn, TriggerIn};

use crate::error::{AppError, FieldErrors};
use crate::events::{is_event_type, is_operator_event};
use crate::http::rules::OPERATOR_MODULE_TAKEN;
use crate::http::rules::{basic_username_problem, name_problem, password_problem};
use crate::model::{TriggerMethod, TriggerResponse};
use crate::security::Cipher;
use crate::store::{Sealed, TriggerAuth, TriggerSettings};

const MAX_PARAMS: usize = 50;
const MAX_PARAM_NAME: usize = 100;
const MAX_PARAM_VALUE: usize = 1000;

/// `trigger.<name>`, the name made into an event-type part: `Weather Report` → `trigger.weather_report`.
pub fn default_event_type(name: &str) -> String {
    let part: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if part.trim_matches('_').is_empty() {
        "trigger.call".into()
    } else {
        format!("trigger.{part}")
    }
}

/// Applies `input` to `base` (the stored settings on update, none on create).
pub fn settings(
    input: TriggerIn,
    base: Option<&TriggerSettings>,
    cipher: &Cipher,
) -> Result<TriggerSettings, AppError> {
    let mut errors = FieldErrors::new();
    let name = match input.name.or_else(|| base.map(|b| b.name.clone())) {
        Some(name) => name.trim().to_string(),
        None => {
            errors.insert("name".into(), "is required".into());
            String::new()
        }
    };
    if let Some(problem) = name_problem(&name) {
        errors.entry("name".into()).or_insert(problem);
    }
    let method = input
        .method
        .map(TriggerMethod::from)
        .or(base.map(|b| b.method))
        .unwrap_or(TriggerMethod::Post);
    let params = input
        .params
        .or_else(|| base.map(|b| b.params.clone()))
        .unwrap_or_default();
    if let Some(problem) = params_problem(&params) {
        errors.insert("params".into(), problem);
    }
    let event_type = input
        .event_type
        .or_else(|| base.map(|b| b.event_type.clone()))
        .unwrap_or_else(|| default_event_type(&name));
    if !is_event_type(&event_type) {
        errors.insert(
            "event_type".into(),
            "must be module.action: lowercase letters, digits, _ and -".into(),
        );
    } else if is_operator_event(&event_type) {
        errors.insert("event_type".into(), OPERATOR_MODULE_TAKEN.into());
    }
    let response = input
        .response
        .map(TriggerResponse::from)
        .or(base.map(|b| b.response))
        .unwrap_or(TriggerResponse::Outputs);
    let auth = match input.auth {
        Some(auth) => auth_settings(auth, base.map(|b| &b.auth), cipher, &mut errors),
        None => base.map_or(TriggerAuth::None, |b| b.auth.clone()),
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(TriggerSettings {
        name,
        method,
        params,
        auth,
        event_type,
        response,
    })
}

fn params_problem(params: &BTreeMap<String, String>) -> Option<String> {
    if params.len() > MAX_PARAMS {
        return Some(format!("at most {MAX_PARAMS} parameters"));
    }
    params.iter().find_map(|(name, value)| {
        if name.is_empty() || name.len() > MAX_PARAM_NAME || name.chars().any(char::is_control) {
            Some(format!(
                "`{name}` is not a parameter name (1 to {MAX_PARAM_NAME} characters)"
            ))
        } else if value.len() > MAX_PARAM_VALUE {
            Some(format!(
                "the value of `{name}` is longer than {MAX_PARAM_VALUE} characters"
            ))
        } else {
            None
        }
    })
}

fn auth_settings(
    auth: AuthIn,
    base: Option<&TriggerAuth>,
    cipher: &Cipher,
    errors: &mut FieldErrors,
) -> TriggerAuth {
    match auth {
        AuthIn::None => TriggerAuth::None,
        AuthIn::Basic { username, password } => {
            if let Some(problem) = basic_username_problem(&username) {
                errors.insert("auth.username".into(), problem.into());
            }
            let kept = match base {
                Some(TriggerAuth::Basic { password, .. }) => Some(password.clone()),
                _ => None,
            };
            let password = match (password, kept) {
                (Some(password), _) => match password_problem(&password) {
                    Some(problem) => {
                        errors.insert("auth.password".into(), problem);
                        Sealed(Vec::new())
                    }
                    None => Sealed(cipher.seal(&password)),
                },
                (None, Some(kept)) => kept,
                _ => {
                    errors.insert("auth.password".into(), "is required".into());
                    Sealed(Vec::new())
                }
            };
            TriggerAuth::Basic { username, password }
        }
        AuthIn::Bearer { token: Some(_) } => {
            errors.insert(
                "auth.token".into(),
                "is generated by hookhub: POST /api/triggers/{id}/token".into(),
            );
            TriggerAuth::Bearer { token: None }
        }
        AuthIn::Bearer { token: None } => TriggerAuth::Bearer {
            token: match base {
                Some(TriggerAuth::Bearer { token }) => *token,
                _ => None,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_event_type_comes_from_the_name() {
        assert_eq!(
            default_event_type("Weather Report"),
            "trigger.weather_report"
        );
        assert_eq!(default_event_type("deploy-done"), "trigger.deploy-done");
        assert_eq!(default_event_type("!!!"), "trigger.call");
        assert!(is_event_type(&default_event_type("Ünïcode näme")));
    }
}
