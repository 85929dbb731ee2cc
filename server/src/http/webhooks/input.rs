//! From what a client wrote (`WebhookIn`) to validated, sealed settings.

use std::collections::BTreeMap;
use std::time::Duration;

use api::{AuthIn, WebhookIn};
use axum::http::{HeaderName, HeaderValue};

use crate::error::{AppError, FieldErrors};
use crate::events::is_event_pattern;
use crate::filter::Filter;
use crate::http::rules::{basic_username_problem, name_problem};
use crate::security::Cipher;
use crate::store::{Sealed, StoredAuth, WebhookSettings};

const MAX_URL: usize = 2048;
const MAX_EVENTS: usize = 256;
const MAX_HEADERS: usize = 50;
const MAX_HEADER_VALUE: usize = 4096;
const MAX_CREDENTIAL: usize = 4096;

/// Headers hookhub sets itself, or that belong to the connection, not the request.
const RESERVED_HEADERS: [&str; 14] = [
    "authorization",
    "connection",
    "content-length",
    "content-type",
    "host",
    "keep-alive",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "webhook-id",
    "webhook-signature",
    "webhook-timestamp",
];

/// Applies `input` to `base` (the stored settings on update, none on create)
/// and checks every field; all problems are reported at once.
pub fn settings(
    input: WebhookIn,
    base: Option<&WebhookSettings>,
    cipher: &Cipher,
) -> Result<WebhookSettings, AppError> {
    let mut errors = FieldErrors::new();
    let mut required = |field: &str, value: Option<String>, base: Option<&String>| {
        value.or_else(|| base.cloned()).unwrap_or_else(|| {
            errors.insert(field.into(), "is required".into());
            String::new()
        })
    };
    let name = required("name", input.name, base.map(|b| &b.name));
    let url = required("url", input.url, base.map(|b| &b.url));
    let name = name.trim().to_string();
    // `check` keeps the first problem of a field: "is required" wins over "must not be empty".
    check(&mut errors, "name", name_problem(&name));
    let url = match parse_url(&url) {
        Ok(url) => url,
        Err(problem) => {
            check(&mut errors, "url", Some(problem));
            url
        }
    };

    let events = match input.events {
        Some(events) => dedup(events),
        None => base.map(|b| b.events.clone()).unwrap_or_default(),
    };
    check(&mut errors, "events", events_problem(&events));

    let data_location = match input.data_location {
        Some(location) => location
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty()),
        None => base.and_then(|b| b.data_location.clone()),
    };
    if let Some(location) = &data_location {
        check(
            &mut errors,
            "data_location",
            data_location_problem(location),
        );
    }

    let filter = match input.filter {
        Some(filter) => filter,
        None => base.and_then(|b| b.filter.clone()),
    };
    if let Some(filter) = &filter {
        let problem = Filter::compile(filter)
            .err()
            .map(|invalid| invalid.to_string());
        check(&mut errors, "filter", problem);
    }

    let rate_limit = match input.rate_limit {
        Some(limit) => limit,
        None => base.and_then(|b| b.rate_limit),
    };
    if rate_limit.is_some_and(|limit| !(1..=MAX_RATE_LIMIT).contains(&limit)) {
        let problem = format!("must be 1 to {MAX_RATE_LIMIT} deliveries a second, or null");
        check(&mut errors, "rate_limit", Some(problem));
    }

    let retry_schedule = match input.retry_schedule {
        Some(Some(steps)) => match retry_schedule(&steps) {
            Ok(schedule) => Some(schedule),
            Err(problem) => {
                check(&mut errors, "retry_schedule", Some(problem));
                None
            }
        },
        Some(None) => None,
        None => base.and_then(|b| b.retry_schedule.clone()),
    };

    let headers = match input.headers {
        Some(given) => seal_headers(given, base.map(|b| &b.headers), cipher, &mut errors),
        None => base.map(|b| b.headers.clone()).unwrap_or_default(),
    };

    let auth = match input.auth {
        Some(auth) => seal_auth(auth, base.map(|b| &b.auth), cipher, &mut errors),
        None => base.map_or(StoredAuth::None, |b| b.auth.clone()),
    };

    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(WebhookSettings {
        name,
        url,
        events,
        active: input.active.or(base.map(|b| b.active)).unwrap_or(true),
        method: input
            .method
            .map(Into::into)
            .or(base.map(|b| b.method))
            .unwrap_or_default(),
        auth,
        data_location,
        headers,
        filter,
        rate_limit,
        retry_schedule,
    })
}

/// Steps of a retry schedule at most.
const MAX_RETRY_STEPS: usize = 20;
/// The longest wait of one step.
const LONGEST_RETRY_STEP: Duration = Duration::from_secs(24 * 3600);

/// `["10s", "1m", "1h"]` as waits, or what is wrong, naming the step.
fn retry_schedule(steps: &[String]) -> Result<Vec<Duration>, String> {
    if !(1..=MAX_RETRY_STEPS).contains(&steps.len()) {
        return Err(format!(
            "must have 1 to {MAX_RETRY_STEPS} steps, or be null"
        ));
    }
    steps
        .iter()
        .enumerate()
        .map(|(n, step)| {
            retry_step(step).ok_or_else(|| {
                format!(
                    "step {} (“{step}”) must be a whole number of s, m or h, from 1s to 24h",
                    n + 1
                )
            })
        })
        .collect()
}

fn retry_step(step: &str) -> Option<Duration> {
    let unit = match step.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => return None,
    };
    let number = &step[..step.len() - 1];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wait = Duration::from_secs(number.parse::<u64>().ok()?.checked_mul(unit)?);
    (Duration::from_secs(1)..=LONGEST_RETRY_STEP)
        .contains(&wait)
        .then_some(wait)
}

/// The highest `rate_limit`, in deliveries a second.
const MAX_RATE_LIMIT: u32 = 10_000;

fn check(errors: &mut FieldErrors, field: &str, problem: Option<String>) {
    if let Some(problem) = problem {
        errors.entry(field.into()).or_insert(problem);
    }
}

fn dedup(events: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    events
        .into_iter()
        .filter(|event| seen.insert(event.clone()))
        .collect()
}

/// The URL as it will be called: parsed and normalised (`HTTP://Example.com`
/// is `http://example.com/`, a `\` is the `/` it is taken for), so that what
/// is stored and shown is what is sent. Whitespace and control characters,
/// which a parser would silently drop or encode, are refused.
pub(in crate::http) fn parse_url(text: &str) -> Result<String, String> {
    if text.len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    let url = url::Url::parse(text).map_err(url_problem)?;
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold credentials: use auth instead".into());
    }
    if url.as_str().len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    // `https://a.example` and `https://a.example/` call the same: keep the
    // root path as the client wrote it.
    if url.as_str().strip_suffix('/') == Some(text) {
        return Ok(text.to_string());
    }
    Ok(url.into())
}

/// Why a URL does not parse, in words a person acts on.
fn url_problem(error: url::ParseError) -> String {
    use url::ParseError::*;
    match error {
        RelativeUrlWithoutBase => {
            "must be a full address starting with http:// or https://, such as https://example.com/hooks"
        }
        EmptyHost => "must name a host",
        InvalidPort => "has a port that is not a number from 1 to 65535",
        InvalidIpv4Address | InvalidIpv6Address => "has an IP address that is not valid",
        InvalidDomainCharacter | IdnaError => "has a host name with characters a host name cannot hold",
        _ => "is not a valid address",
    }
    .into()
}

/// Why `url` would be refused at every delivery, if it is a literal
/// address the SSRF guard refuses (a name is checked where it resolves).
pub(super) fn private_address(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    crate::delivery::ssrf::private_literal(&url).map(|refused| refused.to_string())
}

fn events_problem(events: &[String]) -> Option<String> {
    if events.len() > MAX_EVENTS {
        return Some(format!("at most {MAX_EVENTS} event types"));
    }
    let bad: Vec<&str> = events
        .iter()
        .map(String::as_str)
        .filter(|event| !is_event_pattern(event))
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "`{}`: use module.action (lowercase letters, digits, _ and -), module.* or *",
            bad.join("`, `")
        )
    })
}

/// `root/result`: segments of letters, digits, `_` and `-`.
pub(in crate::http) fn data_location_problem(location: &str) -> Option<String> {
    let segments: Vec<&str> = location.split('/').collect();
    let valid = segments.len() <= 8
        && segments.iter().all(|segment| {
            !segment.is_empty()
                && segment.len() <= 64
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    (!valid).then(|| {
        "must be up to 8 names joined by /, such as root/result (letters, digits, _ and -)".into()
    })
}

/// Checks and seals the extra headers; a `null` value keeps the stored one.
fn seal_headers(
    given: BTreeMap<String, Option<String>>,
    stored: Option<&BTreeMap<String, Sealed>>,
    cipher: &Cipher,
    errors: &mut FieldErrors,
) -> BTreeMap<String, Sealed> {
    let mut sealed = BTreeMap::new();
    let problem = headers_problem(&given).or_else(|| {
        given.iter().find_map(|(name, value)| {
            let kept = stored.and_then(|stored| stored.get(name));
            match (value, kept) {
                (Some(value), _) => {
                    sealed.insert(name.clone(), Sealed(cipher.seal(value)));
                    None
                }
                (None, Some(kept)) => {
                    sealed.insert(name.clone(), kept.clone());
                    None
                }
                (None, None) => Some(format!("`{name}` has no stored value to keep: give one")),
            }
        })
    });
    check(errors, "headers", problem);
    sealed
}

pub(in crate::http) fn headers_problem(
    headers: &BTreeMap<String, Option<String>>,
) -> Option<String> {
    if headers.len() > MAX_HEADERS {
        return Some(format!("at most {MAX_HEADERS} headers"));
    }
    headers.iter().find_map(|(name, value)| {
        let value = value.as_deref().unwrap_or_default();
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            Some(format!("`{name}` is not a valid header name"))
        } else if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str())
            || name.to_ascii_lowercase().starts_with("proxy-")
        {
            Some(format!(
                "`{name}` is set by hookhub and cannot be overridden"
            ))
        } else if value.len() > MAX_HEADER_VALUE {
            Some(format!(
                "the value of `{name}` is longer than {MAX_HEADER_VALUE} bytes"
            ))
        } else if HeaderValue::from_str(value).is_err() {
            Some(format!(
                "the value of `{name}` must be visible ASCII characters and spaces"
            ))
        } else {
            None
        }
    })
}

/// Seals a new credential, or keeps the stored one when the client left it out
/// and the auth type is unchanged.
fn seal_auth(
    auth: AuthIn,
    base: Option<&StoredAuth>,
    cipher: &Cipher,
    errors: &mut FieldErrors,
) -> StoredAuth {
    let mut credential = |field: &str, given: Option<String>, kept: Option<&Sealed>| {
        match given {
            Some(value) if value.is_empty() => {
                errors.insert(field.into(), "must not be empty".into());
            }
            Some(value) if value.len() > MAX_CREDENTIAL => {
                errors.insert(
                    field.into(),
                    format!("must be at most {MAX_CREDENTIAL} bytes"),
                );
            }
            Some(value) if value.chars().any(char::is_control) => {
                errors.insert(field.into(), "must not contain control characters".into());
            }
            Some(value) => return Sealed(cipher.seal(&value)),
            None => match kept {
                Some(sealed) => return sealed.clone(),
                None => {
                    errors.insert(field.into(), "is required".into());
                }
            },
        }
        Sealed(Vec::new())
    };
    match auth {
        AuthIn::None => StoredAuth::None,
        AuthIn::Basic { username, password } => {
            let kept = match base {
                Some(StoredAuth::Basic { password, .. }) => Some(password),
                _ => None,
            };
            let password = credential("auth.password", password, kept);
            if let Some(problem) = basic_username_problem(&username) {
                errors.insert("auth.username".into(), problem.into());
            }
            StoredAuth::Basic { username, password }
        }
        AuthIn::Bearer { token } => {
            let kept = match base {
                Some(StoredAuth::Bearer { token }) => Some(token),
                _ => None,
            };
            StoredAuth::Bearer {
                token: credential("auth.token", token, kept),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_without_credentials() {
        assert_eq!(
            parse_url("https://example.com/hook").as_deref(),
            Ok("https://example.com/hook")
        );
        assert!(parse_url("http://127.0.0.1:9000").is_ok());
        assert!(parse_url("example.com/hook").is_err());
        assert!(parse_url("ftp://example.com").is_err());
        assert!(parse_url("https://user:pw@example.com").is_err());
    }

    #[test]
    fn urls_are_kept_as_they_will_be_called() {
        assert_eq!(
            parse_url(r"http://127.0.0.1:28190\@example.com/").as_deref(),
            Ok("http://127.0.0.1:28190/@example.com/")
        );
        assert_eq!(
            parse_url("HTTPS://Example.COM:443").as_deref(),
            Ok("https://example.com/")
        );
        assert_eq!(
            parse_url("https://a.example").as_deref(),
            Ok("https://a.example")
        );
        for text in [
            " https://example.com/",
            "https://example.com/\r\nX-Injected: 1",
            "https://exam\tple.com/",
            "https://example.com/ a",
        ] {
            assert!(parse_url(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn data_locations_are_slash_separated_names() {
        assert_eq!(data_location_problem("root/result"), None);
        assert_eq!(data_location_problem("data"), None);
        assert!(data_location_problem("root//result").is_some());
        assert!(data_location_problem("/root").is_some());
        assert!(data_location_problem("root/re sult").is_some());
    }

    #[test]
    fn headers_hookhub_sets_are_refused() {
        let ok = BTreeMap::from([("X-Team".to_string(), Some("billing".to_string()))]);
        assert_eq!(headers_problem(&ok), None);
        for name in ["Content-Type", "webhook-signature", "Host", "bad name"] {
            let headers = BTreeMap::from([(name.to_string(), Some("x".to_string()))]);
            assert!(headers_problem(&headers).is_some(), "{name}");
        }
    }

    #[test]
    fn a_header_value_too_long_says_the_limit() {
        let long = "x".repeat(MAX_HEADER_VALUE + 1);
        let headers = BTreeMap::from([("X-Team".to_string(), Some(long))]);
        let problem = headers_problem(&headers).unwrap();
        assert!(problem.contains("4096 bytes"), "{problem}");
        let control = BTreeMap::from([("X-Team".to_string(), Some("a\u{7}b".to_string()))]);
        assert!(headers_problem(&control).unwrap().contains("visible ASCII"));
    }

    #[test]
    fn an_update_without_a_password_keeps_the_stored_one() {
        let cipher = Cipher::new(&[1; 32]);
        let stored = StoredAuth::Basic {
            username: "u".into(),
            password: Sealed(cipher.seal("pw")),
        };
        let mut errors = FieldErrors::new();
        let auth = AuthIn::Basic {
            username: "v".into(),
            password: None,
        };
        let StoredAuth::Basic { username, password } =
            seal_auth(auth, Some(&stored), &cipher, &mut errors)
        else {
            panic!("basic auth expected");
        };
        assert!(errors.is_empty());
        assert_eq!(username, "v");
        assert_eq!(cipher.open(&password.0).unwrap(), "pw");
    }

    #[test]
    fn header_values_are_sealed_and_a_null_keeps_the_stored_one() {
        let cipher = Cipher::new(&[1; 32]);
        let stored = BTreeMap::from([("X-Key".to_string(), Sealed(cipher.seal("old")))]);
        let given = BTreeMap::from([
            ("X-Key".to_string(), None),
            ("X-New".to_string(), Some("fresh".to_string())),
        ]);
        let mut errors = FieldErrors::new();
        let sealed = seal_headers(given, Some(&stored), &cipher, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(cipher.open(&sealed["X-Key"].0).unwrap(), "old");
        assert_eq!(cipher.open(&sealed["X-New"].0).unwrap(), "fresh");
        let unknown = BTreeMap::from([("X-Other".to_string(), None)]);
        seal_headers(unknown, Some(&stored), &cipher, &mut errors);
        assert!(errors.contains_key("headers"));
    }

    #[test]
    fn a_new_basic_auth_needs_a_password() {
        let mut errors = FieldErrors::new();
        let auth = AuthIn::Basic {
            username: "u".into(),
            password: None,
        };
        seal_auth(auth, None, &Cipher::new(&[1; 32]), &mut errors);
        assert_eq!(
            errors.get("auth.password").map(String::as_str),
            Some("is required")
        );
    }
}
