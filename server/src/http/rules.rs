//! Input rules that more than one resource applies, so that a webhook and a
//! trigger take the same names and the same Basic usernames.

const MAX_NAME: usize = 200;

/// A Basic auth username cannot hold `:`, which separates it from the password.
pub fn basic_username_problem(username: &str) -> Option<&'static str> {
    (username.is_empty() || username.contains(':') || username.chars().any(char::is_control))
        .then_some("must be non-empty, without `:` or control characters")
}

/// Names of webhooks and triggers: 1–200 characters, no control characters.
pub fn name_problem(name: &str) -> Option<String> {
    let length = name.chars().count();
    if length == 0 {
        Some("must not be empty".into())
    } else if length > MAX_NAME {
        Some(format!("must be at most {MAX_NAME} characters"))
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters".into())
    } else {
        None
    }
}
