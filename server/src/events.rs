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

/// A concrete event type that can be published: `module.action`, no wildcards.
pub fn is_event_type(event_type: &str) -> bool {
    event_type
        .split_once('.')
        .is_some_and(|(module, action)| is_name_part(module) && is_name_part(action))
}

/// Whether a webhook subscribed with `pattern` receives `event_type`.
pub fn matches(pattern: &str, event_type: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(module) => event_type
            .split_once('.')
            .is_some_and(|(event_module, _)| event_module == module),
        None => pattern == event_type,
    }
}

/// Whether any of a webhook's patterns takes `event_type`.
pub fn subscribed(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|pattern| matches(pattern, event_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exactly_by_module_or_everything() {
        assert!(matches("*", "ticket.create"));
        assert!(matches("ticket.*", "ticket.delete"));
        assert!(matches("ticket.create", "ticket.create"));
        assert!(!matches("ticket.create", "ticket.update"));
        assert!(!matches("ticket.*", "tickets.create"));
        assert!(!matches("tick.*", "ticket.create"));
        assert!(subscribed(
            &["a.b".into(), "ticket.*".into()],
            "ticket.update"
        ));
        assert!(!subscribed(&[], "ticket.update"));
    }

    #[test]
    fn published_types_have_no_wildcards() {
        assert!(is_event_type("weather.report"));
        assert!(!is_event_type("weather.*"));
        assert!(!is_event_type("*"));
        assert!(!is_event_type("weather"));
    }

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
