//! Event types (`module.action`) and the patterns webhooks subscribe with.

/// One part of an event type: lowercase letters, digits, `_` and `-`.
pub fn is_name_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 64
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `module.action`, `module.*` or `*`.
pub fn is_event_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.split_once('.') {
        Some((module, action)) => is_name_part(module) && (action == "*" || is_name_part(action)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_a_module_and_an_action_or_a_wildcard() {
        for good in [
            "*",
            "ticket.*",
            "ticket.create",
            "unit_2.update",
            "weather.report",
            "a-b.c_d",
        ] {
            assert!(is_event_pattern(good), "{good}");
        }
        for bad in [
            "",
            "ticket",
            "Ticket.create",
            "ticket.",
            ".create",
            "*.create",
            "a.b.c",
            "ticket.cre ate",
            "ticket.**",
        ] {
            assert!(!is_event_pattern(bad), "{bad}");
        }
    }
}
