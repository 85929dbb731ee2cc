//! Input rules that more than one resource applies, so that a webhook and a
//! trigger take the same names and Basic usernames, and a user and a basic
//! trigger the same passwords. The limits are the `api` crate's, which the
//! console shows.

use api::{MAX_NAME_CHARS, PASSWORD_CHARS};

/// A Basic auth username cannot hold `:`, which separates it from the password.
pub fn basic_username_problem(username: &str) -> Option<&'static str> {
    (username.is_empty() || username.contains(':') || username.chars().any(char::is_control))
        .then_some("must be non-empty, without `:` or control characters")
}

/// Names of webhooks and triggers: 1 to `MAX_NAME_CHARS` characters, no control characters.
pub fn name_problem(name: &str) -> Option<String> {
    printable_problem(name, MAX_NAME_CHARS)
}

/// Text of 1 to `max` characters, none of them a control character: names,
/// idempotency keys.
pub fn printable_problem(text: &str, max: usize) -> Option<String> {
    let length = text.chars().count();
    if length == 0 {
        Some("must not be empty".into())
    } else if length > max {
        Some(format!("must be at most {max} characters"))
    } else if text.chars().any(char::is_control) {
        Some("must not contain control characters".into())
    } else {
        None
    }
}

/// What is wrong with a new password, if anything.
pub fn password_problem(password: &str) -> Option<String> {
    let (min, max) = PASSWORD_CHARS;
    let length = password.chars().count();
    (!(min..=max).contains(&length)).then(|| format!("must be {min} to {max} characters"))
}

/// Why an event type of the `hookhub` module is refused from outside.
pub const OPERATOR_MODULE_TAKEN: &str =
    "the hookhub module is hookhub's own: its events come from hookhub only";
