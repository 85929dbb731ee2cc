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

/// Characters that change how the text around them reads without being
/// seen: bidirectional overrides, embeddings, isolates and marks (a name
/// could show `exe.pdf` for `fdp.exe`), zero-width spaces, the word joiner
/// and the byte order mark. (The zero-width joiner and non-joiner are
/// taken: scripts and emoji need them.)
pub const HIDDEN: [(char, char); 7] = [
    ('\u{061c}', '\u{061c}'),
    ('\u{200b}', '\u{200b}'),
    ('\u{200e}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2060}'),
    ('\u{2066}', '\u{2069}'),
    ('\u{feff}', '\u{feff}'),
];

/// The combining marks of Unicode's combining blocks, which stack on the
/// character before them (the stuff of "Zalgo" text).
pub const COMBINING: [(char, char); 5] = [
    ('\u{0300}', '\u{036f}'),
    ('\u{1ab0}', '\u{1aff}'),
    ('\u{1dc0}', '\u{1dff}'),
    ('\u{20d0}', '\u{20ff}'),
    ('\u{fe20}', '\u{fe2f}'),
];

/// What shows nothing by itself: whitespace (Unicode's White_Space) and the
/// zero-width joiner and non-joiner.
pub const BLANK: [(char, char); 11] = [
    ('\t', '\r'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{200c}', '\u{200d}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// Combining marks one character may carry.
pub const MAX_MARKS: usize = 8;

fn within(ranges: &[(char, char)], c: char) -> bool {
    ranges.iter().any(|(low, high)| (*low..=*high).contains(&c))
}

/// Names of webhooks and triggers: 1 to `MAX_NAME_CHARS` characters, no
/// control or hidden characters, something visible, and no character
/// buried under more than `MAX_MARKS` combining marks.
pub fn name_problem(name: &str) -> Option<String> {
    if let Some(problem) = printable_problem(name, MAX_NAME_CHARS) {
        return Some(problem);
    }
    if name.chars().any(|c| within(&HIDDEN, c)) {
        return Some(
            "must not contain characters that hide or reorder text (bidirectional controls, zero-width spaces)".into(),
        );
    }
    let visible = |c: char| !within(&BLANK, c) && !within(&COMBINING, c);
    if !name.chars().any(visible) {
        return Some("must contain a visible character".into());
    }
    let mut marks = 0;
    for c in name.chars() {
        marks = if within(&COMBINING, c) { marks + 1 } else { 0 };
        if marks > MAX_MARKS {
            return Some(format!(
                "must not stack more than {MAX_MARKS} combining marks on a character"
            ));
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_hide_or_reorder_text_or_show_nothing_are_refused() {
        let stacked = format!("a{}", "\u{0301}".repeat(MAX_MARKS + 1));
        for name in [
            "invoice\u{202e}fdp.exe",
            "\u{2066}isolated\u{2069}",
            "\u{200b}",
            "a\u{200b}b",
            "\u{feff}name",
            "\u{200d}\u{200c}",
            "\u{0301}\u{0301}",
            "\u{3000}",
            stacked.as_str(),
        ] {
            assert!(name_problem(name).is_some(), "{name:?} was taken");
        }
        let accented = format!("e{}", "\u{0301}".repeat(MAX_MARKS));
        for name in [
            "Ticket → CMDB",
            "Café",
            "नमस्ते",
            "مرحبا",
            "\u{1f469}\u{200d}\u{1f4bb} dev hooks",
            "a b",
            accented.as_str(),
        ] {
            assert_eq!(name_problem(name), None, "{name:?}");
        }
    }
}
