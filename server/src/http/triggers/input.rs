//! From what a client wrote (`TriggerIn`) to validated settings.

use std::collections::BTreeMap;

use api::{HmacAlgorithm, HmacEncoding, SignatureScheme, TriggerAuthIn, TriggerIn};
use axum::http::HeaderName;

use crate::error::{AppError, FieldErrors};
use crate::events::{is_event_type, is_operator_event};
use crate::http::rules::OPERATOR_MODULE_TAKEN;
use crate::http::rules::{basic_username_problem, name_problem, password_problem};
use crate::model::{TriggerMethod, TriggerResponse};
use crate::security::Cipher;
use crate::security::inbound::{Algorithm, Encoding, Scheme, secret_problem};
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
    auth: TriggerAuthIn,
    base: Option<&TriggerAuth>,
    cipher: &Cipher,
    errors: &mut FieldErrors,
) -> TriggerAuth {
    match auth {
        TriggerAuthIn::None => TriggerAuth::None,
        TriggerAuthIn::Basic { username, password } => {
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
        TriggerAuthIn::Bearer { token: Some(_) } => {
            errors.insert(
                "auth.token".into(),
                "is generated by hookhub: POST /api/triggers/{id}/token".into(),
            );
            TriggerAuth::Bearer { token: None }
        }
        TriggerAuthIn::Bearer { token: None } => TriggerAuth::Bearer {
            token: match base {
                Some(TriggerAuth::Bearer { token }) => *token,
                _ => None,
            },
        },
        TriggerAuthIn::Signature {
            scheme,
            secret,
            header,
            algorithm,
            encoding,
        } => {
            let scheme = match scheme {
                SignatureScheme::Github => Scheme::Github,
                SignatureScheme::Stripe => Scheme::Stripe,
                SignatureScheme::Shopify => Scheme::Shopify,
                SignatureScheme::Standard => Scheme::Standard,
                SignatureScheme::Hmac => {
                    let header = header.unwrap_or_default();
                    if HeaderName::from_bytes(header.as_bytes()).is_err() {
                        errors.insert(
                            "auth.header".into(),
                            "is required for hmac: the header that carries the signature, like X-Signature".into(),
                        );
                    }
                    Scheme::Hmac {
                        header,
                        algorithm: match algorithm.unwrap_or_default() {
                            HmacAlgorithm::Sha256 => Algorithm::Sha256,
                            HmacAlgorithm::Sha1 => Algorithm::Sha1,
                        },
                        encoding: match encoding.unwrap_or_default() {
                            HmacEncoding::Hex => Encoding::Hex,
                            HmacEncoding::Base64 => Encoding::Base64,
                        },
                    }
                }
            };
            // The stored secret stays when none is given and the scheme's
            // kind of key is unchanged (a Standard Webhooks key is not a
            // plain one).
            let kept = match base {
                Some(TriggerAuth::Signature {
                    scheme: before,
                    secret,
                }) if (*before == Scheme::Standard) == (scheme == Scheme::Standard) => {
                    Some(secret.clone())
                }
                _ => None,
            };
            let secret = match (secret, kept) {
                (Some(secret), _) => match secret_problem(&scheme, &secret) {
                    Some(problem) => {
                        errors.insert("auth.secret".into(), problem);
                        Sealed(Vec::new())
                    }
                    None => Sealed(cipher.seal(&secret)),
                },
                (None, Some(kept)) => kept,
                (None, None) => {
                    errors.insert(
                        "auth.secret".into(),
                        "is required: the secret the sender signs with".into(),
                    );
                    Sealed(Vec::new())
                }
            };
            TriggerAuth::Signature { scheme, secret }
        }
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
